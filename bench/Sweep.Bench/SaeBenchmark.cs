using System.Diagnostics;
using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;
using Sweep.Storage.Shards;

namespace Sweep.Bench;

/// <summary>
/// SAE encoding as a fraction of the process's GEMM rate (encoding is two GEMMs plus TopK and sparse extraction),
/// the size of sparse shards relative to dense d_sae-wide rows, and TopK training steps per second.
/// </summary>
public sealed class SaeBenchmark : IBenchmark
{
    public string Name => "sae";
    public string Description => "TopK SAE encoding vs GEMM rate, sparse vs dense code storage, training step rate";

    public void Run(BenchmarkOutput output)
    {
        const int dIn = 512, dSae = 8192, k = 32, tokens = 4096;
        var random = new Random(1);
        float[] R(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = dIn, DSae = dSae, K = k };
        using var sae = new SparseAutoencoder(config, R(dIn * dSae, 0.05), R(dSae, 0.01), R(dSae * dIn, 0.05), R(dIn, 0.01));
        var x = R(tokens * dIn, 1.0);
        sae.Encode(x.AsSpan(0, 64 * dIn), [64]); // warm-up

        double best = double.MaxValue;
        SaeEncoding? encoding = null;
        for (int i = 0; i < 3; i++)
        {
            var watch = Stopwatch.StartNew();
            encoding = sae.Encode(x, [tokens]);
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        double gemm = GemmRate.Measure();
        double flops = 2.0 * 2 * tokens * dIn * dSae;
        output.Line($"encode {tokens} tokens, d_in {dIn}, d_sae {dSae}, k {k}", $"{tokens / best:F0} tokens/s");
        output.Line("encode FLOP rate / GEMM rate", $"{flops / best / gemm:F2}");

        var codes = encoding!.Codes["codes"];
        var meta = new ShardMetadata
        {
            Model = "bench", Site = "blocks.0.hook_resid_post/sae/bench", Width = dSae, WeightsDigest = "w", TokenizerDigest = "t",
            CorpusShardDigest = "c", ShardIndex = 0, Kind = ShardMetadata.KindSparse, Sae = new SaeIdentity("bench", "d", "blocks.0.hook_resid_post"),
        };
        var path = Path.Combine(Path.GetTempPath(), $"sweep-bench-{Guid.NewGuid():N}.arrow");
        try
        {
            var rows = Enumerable.Range(0, tokens).ToArray();
            SparseShardFile.Write(path, new SparseShard(meta, tokens, rows, new int[tokens], new int[tokens], codes.Offsets, codes.Indices, codes.Values));
            long dense = (long)tokens * dSae * sizeof(float);
            output.Line("sparse shard bytes / dense d_sae-wide float32 rows", $"{new FileInfo(path).Length / (double)dense:F4}");
        }
        finally { File.Delete(path); }

        var options = new TopKTrainingOptions { DSae = 2048, K = 32, Steps = 20, BatchSize = 1024, ShuffleBufferRows = 4096, MetricsEvery = 1000 };
        IEnumerable<float[]> Source() { yield return x; }
        TopKSaeTrainer.Train(Source, dIn, options with { Steps = 2 }).Dispose(); // warm-up
        var trainWatch = Stopwatch.StartNew();
        TopKSaeTrainer.Train(Source, dIn, options).Dispose();
        double perStep = trainWatch.Elapsed.TotalSeconds / options.Steps;
        // Forward and backward of both GEMMs: about 3x the forward FLOPs.
        double trainFlops = 3 * 2.0 * 2 * options.BatchSize * dIn * options.DSae;
        output.Line($"train step (batch {options.BatchSize}, d_sae {options.DSae})", $"{1 / perStep:F1} steps/s");
        output.Line("train FLOP rate / GEMM rate", $"{trainFlops / perStep / gemm:F2}");
    }
}
