using System.Diagnostics;
using System.Text.Json.Nodes;
using Sweep.Models;
using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;

namespace Sweep.Bench;

/// <summary>
/// Capture throughput of a GPT-2-small-shaped model (12 layers, d 768, 12 heads, vocab 50257; random weights written
/// as an HF checkpoint to a temporary directory) at batch sizes 1, 8 and 32 over sequences of 128 tokens, capturing
/// the last block's residual stream. Reported in tokens/s and as the fraction of the neighbouring GEMMs' rate (see
/// <see cref="Yardstick"/>) the forward pass's matmul FLOPs reach (2 x weights per token for the projections, 4 T d per
/// layer per token for attention): median and range over interleaved runs.
/// </summary>
public sealed class CaptureBenchmark : IBenchmark
{
    private const int Runs = 5;
    private const int Layers = 12, Hidden = 768, Heads = 12, Vocab = 50257, Positions = 1024, SequenceLength = 128;

    public string Name => "capture";
    public string Description => "GPT-2-small capture throughput (tokens/s, fraction of GEMM rate) at batch sizes 1, 8, 32";

    public void Run(BenchmarkOutput output)
    {
        string device = torch.cuda.is_available() ? "cuda:0" : "cpu";
        var dir = Directory.CreateTempSubdirectory("sweep-bench-gpt2-").FullName;
        try
        {
            var watch = Stopwatch.StartNew();
            WriteCheckpoint(dir);
            output.Line("write checkpoint (F16 safetensors)", $"{watch.Elapsed.TotalSeconds:F1} s");
            watch.Restart();
            using var model = CausalLm.Load(dir, device);
            output.Line($"load onto {model.Device} as {model.Dtype}", $"{watch.Elapsed.TotalSeconds:F1} s");

            using var yardstick = new Yardstick(device);
            var rng = new Random(17);
            var sequences = Enumerable.Range(0, 32).Select(_ => Enumerable.Range(0, SequenceLength).Select(_ => rng.Next(Vocab)).ToArray()).ToList();
            string[] site = [HookPoints.ResidPost(Layers - 1)];
            model.Capture(sequences.Take(2).ToList(), site, 2);   // warm-up
            double flopsPerToken = FlopsPerToken();
            // Fewer sequences at small batch sizes keep each run to a few seconds on a laptop CPU.
            foreach (var (batch, count) in new[] { (1, 4), (8, 16), (32, 32) })
            {
                var runs = yardstick.Repeat(Runs, () =>
                {
                    model.Capture(sequences.Take(count).ToList(), site, batch);
                    return count * SequenceLength * flopsPerToken;
                });
                double tokensPerSecond = count * SequenceLength / runs.Seconds.Median;
                output.Line($"batch {batch,2} x {SequenceLength} tokens ({tokensPerSecond:F0} tokens/s)", $"{runs.FractionOfGemm.Format(unit: " of GEMM")}", runs);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Matmul FLOPs per token of 12 blocks: q, k, v, o (4 d^2) and the MLP (8 d^2) twice over, plus scores and mixing (4 T d).</summary>
    internal static double FlopsPerToken() => Layers * (2.0 * 12 * Hidden * Hidden + 4.0 * SequenceLength * Hidden);

    /// <summary>A GPT2LMHeadModel-layout checkpoint with seeded uniform weights (scale 0.02), norms at identity.</summary>
    internal static void WriteCheckpoint(string dir)
    {
        var config = new JsonObject
        {
            ["model_type"] = "gpt2", ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["n_embd"] = Hidden, ["n_head"] = Heads,
            ["n_layer"] = Layers, ["n_positions"] = Positions, ["vocab_size"] = Vocab, ["activation_function"] = "gelu_new",
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        var rng = new Random(5);
        var tensors = new Dictionary<string, (float[], long[])>();
        void Random(string name, params long[] shape)
        {
            var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (rng.NextSingle() - 0.5f) * 0.04f;
            tensors[name] = (values, shape);
        }
        void Fill(string name, float value, long n) => tensors[name] = (Enumerable.Repeat(value, (int)n).ToArray(), [n]);

        Random("transformer.wte.weight", Vocab, Hidden);
        Random("transformer.wpe.weight", Positions, Hidden);
        for (int l = 0; l < Layers; l++)
        {
            string p = $"transformer.h.{l}.";
            Fill(p + "ln_1.weight", 1, Hidden); Fill(p + "ln_1.bias", 0, Hidden);
            Random(p + "attn.c_attn.weight", Hidden, 3 * Hidden); Fill(p + "attn.c_attn.bias", 0, 3 * Hidden);
            Random(p + "attn.c_proj.weight", Hidden, Hidden); Fill(p + "attn.c_proj.bias", 0, Hidden);
            Fill(p + "ln_2.weight", 1, Hidden); Fill(p + "ln_2.bias", 0, Hidden);
            Random(p + "mlp.c_fc.weight", Hidden, 4 * Hidden); Fill(p + "mlp.c_fc.bias", 0, 4 * Hidden);
            Random(p + "mlp.c_proj.weight", 4 * Hidden, Hidden); Fill(p + "mlp.c_proj.bias", 0, Hidden);
        }
        Fill("transformer.ln_f.weight", 1, Hidden); Fill("transformer.ln_f.bias", 0, Hidden);
        SafeTensors.Write(Path.Combine(dir, "model.safetensors"), tensors, SafeTensorDtype.F16);
    }
}
