using System.Diagnostics;
using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;
using Xunit.Abstractions;

namespace Sweep.Models.Tests.Saes;

public sealed class TopKTrainingTests(ITestOutputHelper output)
{
    /// <summary>Activations made of <c>active</c> of <c>planted</c> random unit directions with random positive magnitudes, plus small noise.</summary>
    private sealed class PlantedData(int dIn, int planted, int active, int tokens, int seed)
    {
        public float[] Directions { get; } = Unit(RandomSaes.Gaussian(new Random(seed), planted * dIn, 1.0), planted, dIn);

        /// <summary>One pass over the data set, in blocks of 1000 rows (as shards would arrive).</summary>
        public IEnumerable<float[]> Blocks()
        {
            var random = new Random(seed + 1);
            for (int start = 0; start < tokens; start += 1000)
            {
                int rows = Math.Min(1000, tokens - start);
                var block = RandomSaes.Gaussian(random, rows * dIn, 0.01);
                var order = Enumerable.Range(0, planted).ToArray();
                for (int r = 0; r < rows; r++)
                    for (int a = 0; a < active; a++)
                    {
                        int swap = a + random.Next(planted - a); // partial Fisher-Yates: `active` distinct directions
                        (order[a], order[swap]) = (order[swap], order[a]);
                        int p = order[a];
                        float magnitude = (float)(0.5 + 1.5 * random.NextDouble());
                        for (int j = 0; j < dIn; j++) block[r * dIn + j] += magnitude * Directions[p * dIn + j];
                    }
                yield return block;
            }
        }

        private static float[] Unit(float[] v, int rows, int width)
        {
            for (int r = 0; r < rows; r++)
            {
                double n = Math.Sqrt(Enumerable.Range(0, width).Sum(j => (double)v[r * width + j] * v[r * width + j]));
                for (int j = 0; j < width; j++) v[r * width + j] = (float)(v[r * width + j] / n);
            }
            return v;
        }
    }

    [Fact]
    public void TopK_sae_recovers_planted_sparse_directions()
    {
        const int dIn = 32, planted = 48, active = 3;
        var data = new PlantedData(dIn, planted, active, tokens: 40_000, seed: 5);
        var options = new TopKTrainingOptions
        {
            DSae = 96, K = active, Steps = 1000, BatchSize = 256, LearningRate = 3e-3, WarmupSteps = 50,
            ShuffleBufferRows = 8192, DeadAfterTokens = 20_000, MetricsEvery = 100, Seed = 1,
        };
        // Tiny matrices: one intra-op thread is fastest, and OpenMP threads spinning on a shared 2-core machine are slow.
        TorchSharp.torch.set_num_threads(1);
        var metrics = new List<TrainingMetrics>();
        var clock = Stopwatch.StartNew();
        using var sae = TopKSaeTrainer.Train(data.Blocks, dIn, options, report: metrics.Add);
        output.WriteLine($"trained in {clock.Elapsed.TotalSeconds:F1} s");
        foreach (var m in metrics) output.WriteLine(m.ToString());

        int recovered = 0;
        for (int p = 0; p < planted; p++)
        {
            double best = 0;
            for (int f = 0; f < options.DSae; f++)
            {
                double dot = 0;
                for (int j = 0; j < dIn; j++) dot += data.Directions[p * dIn + j] * sae.WDec[f * dIn + j];
                best = Math.Max(best, dot); // decoder rows are unit norm, so dot = cosine
            }
            if (best > 0.9) recovered++;
        }
        output.WriteLine($"recovered {recovered}/{planted}");
        Assert.True(recovered >= 0.9 * planted, $"only {recovered} of {planted} planted directions have a decoder row with cosine > 0.9");
        Assert.Equal(options.Steps / options.MetricsEvery, metrics.Count);
        Assert.True(metrics[^1].FractionVarianceExplained > 0.9, $"variance explained {metrics[^1].FractionVarianceExplained}");
        for (int f = 0; f < options.DSae; f++)
            Assert.Equal(1.0, Math.Sqrt(Enumerable.Range(0, dIn).Sum(j => (double)sae.WDec[f * dIn + j] * sae.WDec[f * dIn + j])), 4);
    }

    [Fact]
    public void Training_survives_garbage_collections_on_another_thread()
    {
        // A Scalar converted implicitly could be finalized mid-call by a GC that another thread triggered (see
        // HeldScalars); with a thread collecting nonstop, that failed within about ten of these runs.
        var data = RandomSaes.Gaussian(new Random(3), 2048 * 16, 1.0);
        var options = new TopKTrainingOptions { DSae = 32, K = 2, Steps = 200, BatchSize = 32, ShuffleBufferRows = 1024, DeadAfterTokens = 1000 };
        TorchSharp.torch.set_num_threads(1);
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        });
        collector.Start();
        try
        {
            for (int run = 0; run < 30; run++)
            {
                using var sae = TopKSaeTrainer.Train(() => [data], 16, options);
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }

    [Fact]
    public void Learning_rate_warms_up_holds_and_decays_to_zero()
    {
        var o = new TopKTrainingOptions { DSae = 4, K = 1, Steps = 100, WarmupSteps = 10, DecayFraction = 0.2, LearningRate = 1.0 };
        Assert.Equal(0.1, o.LearningRateAt(0), 12);
        Assert.Equal(1.0, o.LearningRateAt(9), 12);
        Assert.Equal(1.0, o.LearningRateAt(79), 12);
        Assert.Equal(1.0, o.LearningRateAt(80), 12);
        Assert.Equal(0.05, o.LearningRateAt(99), 12);
    }

    [Fact]
    public void Shuffle_buffer_is_seeded_and_streams_every_row_with_bounded_memory()
    {
        // 10 blocks of 100 one-value rows; buffer of 50 rows.
        IEnumerable<float[]> Source() { for (int b = 0; b < 10; b++) yield return Enumerable.Range(b * 100, 100).Select(v => (float)v).ToArray(); }
        var a = new ShuffleBuffer(Source, 1, 50, seed: 3);
        var b2 = new ShuffleBuffer(Source, 1, 50, seed: 3);
        var first = new float[1000];
        var second = new float[1000];
        a.Next(first, 1000);
        b2.Next(second, 1000);
        Assert.Equal(first, second);
        Assert.NotEqual(Enumerable.Range(0, 1000).Select(v => (float)v), first);
        // After the first pass, rows keep coming (a second pass), and early rows come out early.
        Assert.True(first.Take(200).Average() < 300);
    }
}
