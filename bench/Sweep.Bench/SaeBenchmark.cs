using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;
using Sweep.Storage.Shards;
using TorchSharp;

namespace Sweep.Bench;

/// <summary>
/// SAE encoding as a fraction of the neighbouring GEMMs' rate, counting the FLOPs of the pre-activations
/// (2·N·d_in·d_sae: what every encoder must compute; TopK, sparse extraction and the reconstruction are the rest);
/// for wide SAEs (d_sae 32k, small d_in) also against producing the pre-activations alone (the same matmul and bias
/// over the same tokens into memory, interleaved); the size of sparse shards relative to dense d_sae-wide rows; and
/// TopK training steps as a fraction of the GEMM rate.
/// </summary>
public sealed class SaeBenchmark : IBenchmark
{
    public string Name => "sae";
    public string Description => "TopK SAE encoding vs GEMM rate (and vs producing the pre-activations), code storage, training step rate";

    private const int Runs = 5;

    public void Run(BenchmarkOutput output)
    {
        using var yardstick = new Yardstick();
        var random = new Random(1);

        // The shape the issue measured (0.49 counting the decoder GEMM as well), then ReLU on the same shape; 16,384 tokens
        // (about 1 s a run), so that one run is long beside the machine's own noise.
        var (topk, x) = Encoder(random, SaeArchitecture.TopK, dIn: 512, dSae: 8192, k: 32, tokens: 16384);
        var (encoding, _) = Measure(output, yardstick, topk, x, "TopK");
        Measure(output, yardstick, topk, x, "TopK", ReconstructionOutput.Values);
        var (relu, _) = Encoder(random, SaeArchitecture.Standard, dIn: 512, dSae: 8192, k: null, tokens: 0);
        Measure(output, yardstick, relu, x, "ReLU");
        relu.Dispose();

        // Wide SAEs on small residual streams: the pre-activations are most of the memory traffic.
        foreach (int dIn in new[] { 256, 64 })
        {
            var (wide, wx) = Encoder(random, SaeArchitecture.TopK, dIn: dIn, dSae: 32768, k: 64, tokens: 8192);
            var (_, encode) = Measure(output, yardstick, wide, wx, "TopK");
            var limit = PreActivationsAlone(yardstick, wide, wx);
            output.Line($"  producing its pre-activations into memory", $"{limit.FractionOfGemm.Format(unit: " of GEMM")} ({wx.Length / dIn / limit.Seconds.Median:F0} tokens/s)", limit);
            output.Line($"  encode / producing the pre-activations", Ratio(encode, limit));
            wide.Dispose();
        }

        var codes = encoding.Codes["codes"];
        int dSae = topk.Config.DSae, tokens = codes.Rows;
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
        topk.Dispose();

        int trainDIn = 512;
        var trainX = Enumerable.Range(0, 4096 * trainDIn).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var options = new TopKTrainingOptions { DSae = 2048, K = 32, Steps = 20, BatchSize = 1024, ShuffleBufferRows = 4096, MetricsEvery = 1000 };
        IEnumerable<float[]> Source() { yield return trainX; }
        TopKSaeTrainer.Train(Source, trainDIn, options with { Steps = 2 }).Dispose(); // warm-up
        // Forward and backward of both GEMMs: about 3x the forward FLOPs.
        double trainFlops = options.Steps * 3 * 2.0 * 2 * options.BatchSize * trainDIn * options.DSae;
        var train = yardstick.Repeat(3, () => { TopKSaeTrainer.Train(Source, trainDIn, options).Dispose(); return trainFlops; });
        output.Line($"train step (batch {options.BatchSize}, d_sae {options.DSae})", $"{options.Steps / train.Seconds.Median:F1} steps/s");
        output.Line("train FLOP rate / GEMM rate", train.FractionOfGemm.Format(), train);
    }

    private static (SparseAutoencoder Sae, float[] X) Encoder(Random random, SaeArchitecture architecture, int dIn, int dSae, int? k, int tokens)
    {
        float[] R(int n, double scale) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)((random.NextDouble() * 2 - 1) * scale); return v; }
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = architecture, DIn = dIn, DSae = dSae, K = k };
        var sae = new SparseAutoencoder(config, R(dIn * dSae, 0.05), R(dSae, 0.01), R(dSae * dIn, 0.05), R(dIn, 0.01));
        return (sae, R(tokens * dIn, 1.0));
    }

    /// <summary>
    /// Encoding as a capture encodes (<see cref="ReconstructionOutput.SquaredErrorOnly"/>: x̂ is computed and its squared
    /// error kept, as the shard stores) or, with <see cref="ReconstructionOutput.Values"/>, also handing x̂ back in a new
    /// array. The warm-up is one whole run: a capture encodes shard after shard with the same encoder.
    /// </summary>
    private static (SaeEncoding, Samples) Measure(BenchmarkOutput output, Yardstick yardstick, SparseAutoencoder sae, float[] x, string name,
        ReconstructionOutput reconstruction = ReconstructionOutput.SquaredErrorOnly)
    {
        int dIn = sae.Config.DIn, dSae = sae.Config.DSae, tokens = x.Length / dIn;
        sae.Encode(x, [tokens], reconstruction); // warm-up
        SaeEncoding? encoding = null;
        var runs = yardstick.Repeat(Runs, () =>
        {
            encoding = sae.Encode(x, [tokens], reconstruction);
            return 2.0 * tokens * dIn * dSae;
        });
        string k = sae.Config.K is { } kk ? $", k {kk}" : "";
        string values = reconstruction == ReconstructionOutput.Values ? ", x̂ returned" : "";
        output.Line($"{name} encode, d_in {dIn}, d_sae {dSae}{k}{values} ({tokens / runs.Seconds.Median:F0} tokens/s)", $"{runs.FractionOfGemm.Format(unit: " of GEMM")}", runs);
        return (encoding!, runs);
    }

    /// <summary>
    /// The encoder's first step alone, as a dense encoder must do it: (x − b_dec) W_enc + b_enc for all tokens into
    /// memory, in blocks of 2048 tokens (a GEMM packs W_enc once per call) into one reused output.
    /// </summary>
    private static Samples PreActivationsAlone(Yardstick yardstick, SparseAutoencoder sae, float[] x)
    {
        int dIn = sae.Config.DIn, dSae = sae.Config.DSae, tokens = x.Length / dIn, block = Math.Min(2048, tokens);
        using var w = torch.tensor(sae.WEnc, [dIn, dSae]);
        using var b = torch.tensor(sae.BEnc, [dSae]);
        using var bDec = torch.tensor(sae.BDec, [dIn]);
        using var input = torch.tensor(x, [tokens, dIn]);
        using var output = torch.empty(block, dSae);
        double Produce()
        {
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            for (int start = 0; start < tokens; start += block)
            {
                int count = Math.Min(block, tokens - start);
                var pre = output.narrow(0, 0, count);
                pre.addmm_(input.narrow(0, start, count) - bDec, w, beta: 0f, alpha: 1f).add_(b, Sweep.Models.HeldScalars.One);
            }
            return 2.0 * tokens * dIn * dSae;
        }
        Produce();   // warm-up: the first run faults the output's pages in
        return yardstick.Repeat(Runs, Produce);
    }

    private static string Ratio(Samples encode, Samples limit)
    {
        var (e, l) = (encode.FractionOfGemm, limit.FractionOfGemm);
        return $"{e.Median / l.Median:F2} [{e.Min / l.Max:F2}–{e.Max / l.Min:F2}]";
    }
}
