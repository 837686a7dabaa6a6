using System.Globalization;
using Sweep.Models.Checkpoints;
using Sweep.Models.Saes;

namespace Sweep.Models.Tests.Saes;

/// <summary>Seeded random-weight SAEs written as real folders of each format.</summary>
internal static class RandomSaes
{
    public static float[] Gaussian(Random random, int count, double scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            values[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }

    public static SparseAutoencoder SaeLens(SaeConfig config, int seed)
    {
        var random = new Random(seed);
        int dIn = config.DIn, dSae = config.DSae;
        float[]? threshold = config.Architecture == SaeArchitecture.JumpRelu
            ? Gaussian(random, dSae, 0.1).Select(v => Math.Abs(v) + 0.05f).ToArray() : null;
        return new SparseAutoencoder(config, Gaussian(random, dIn * dSae, 1 / Math.Sqrt(dIn)), Gaussian(random, dSae, 0.1),
            Gaussian(random, dSae * dIn, 1 / Math.Sqrt(dSae)), Gaussian(random, dIn, 0.2), threshold);
    }

    public static SaeConfig Config(SaeArchitecture architecture, int dIn = 24, int dSae = 64, int? k = null,
        SaeNormalization norm = SaeNormalization.None, bool applyBDec = true) => new()
    {
        Format = SaeFormat.SaeLens, Architecture = architecture, DIn = dIn, DSae = dSae, K = k, Normalization = norm,
        ApplyBDecToInput = applyBDec, HookName = "blocks.1.hook_resid_post", ModelName = "tiny", NeuronpediaId = "tiny/1-res-test",
    };

    /// <summary>An EleutherAI sparsify folder (cfg.json + sae.safetensors, encoder as nn.Linear).</summary>
    public static void WriteSparsify(string dir, int dIn, int dSae, int k, int seed)
    {
        var random = new Random(seed);
        Directory.CreateDirectory(dir);
        SafeTensors.Write(Path.Combine(dir, "sae.safetensors"), new Dictionary<string, (float[], long[])>
        {
            ["encoder.weight"] = (Gaussian(random, dSae * dIn, 1 / Math.Sqrt(dIn)), [dSae, dIn]),
            ["encoder.bias"] = (Gaussian(random, dSae, 0.1), [dSae]),
            ["W_dec"] = (Gaussian(random, dSae * dIn, 1 / Math.Sqrt(dSae)), [dSae, dIn]),
            ["b_dec"] = (Gaussian(random, dIn, 0.2), [dIn]),
        });
        File.WriteAllText(Path.Combine(dir, "cfg.json"),
            $$"""{"expansion_factor": 32, "normalize_decoder": true, "num_latents": {{dSae}}, "k": {{k}}, "multi_topk": false, "skip_connection": false, "d_in": {{dIn}}}""");
    }

    /// <summary>A temporal SAE folder (conf.yaml + latest_ckpt.safetensors) in the reference repository's naming.</summary>
    public static void WriteTemporal(string dir, int dIn, int expFactor, int heads, int bottleneck, int layers, string diffType, int? k, bool tied, int seed,
        double? scalingFactor = null)
    {
        var random = new Random(seed);
        int w = dIn * expFactor, ne = w / bottleneck;
        Directory.CreateDirectory(dir);
        var tensors = new Dictionary<string, (float[], long[])>
        {
            ["D"] = (Gaussian(random, w * dIn, 1.0), [w, dIn]),
            ["b"] = (Gaussian(random, dIn, 0.3), [1, dIn]),
        };
        if (!tied) tensors["E"] = (Gaussian(random, dIn * w, 1.0), [dIn, w]);
        for (int i = 0; i < layers; i++)
        {
            string p = $"attn_layers.{i}.";
            tensors[p + "k_ctx.weight"] = (Gaussian(random, ne * w, 1 / Math.Sqrt(w)), [ne, w]);
            tensors[p + "k_ctx.bias"] = (Gaussian(random, ne, 0.1), [ne]);
            tensors[p + "q_target.weight"] = (Gaussian(random, ne * w, 1 / Math.Sqrt(w)), [ne, w]);
            tensors[p + "q_target.bias"] = (Gaussian(random, ne, 0.1), [ne]);
            tensors[p + "v_ctx.weight"] = (Gaussian(random, w * w, 1 / Math.Sqrt(w)), [w, w]);
            tensors[p + "v_ctx.bias"] = (Gaussian(random, w, 0.1), [w]);
            tensors[p + "c_proj.weight"] = (Gaussian(random, w * w, 1 / Math.Sqrt(w)), [w, w]);
            tensors[p + "c_proj.bias"] = (Gaussian(random, w, 0.1), [w]);
        }
        SafeTensors.Write(Path.Combine(dir, "latest_ckpt.safetensors"), tensors);
        File.WriteAllText(Path.Combine(dir, "conf.yaml"), string.Create(CultureInfo.InvariantCulture, $"""
            llm:
              dimin: {dIn}
            sae:
              exp_factor: {expFactor}
              n_heads: {heads}
              sae_diff_type: {diffType}
              kval_topk: {(k is null ? "null" : k.ToString())}
              tied_weights: {(tied ? "true" : "false")}
              n_attn_layers: {layers}
              bottleneck_factor: {bottleneck}
            {(scalingFactor is { } c ? $"  scaling_factor: {c.ToString("R", CultureInfo.InvariantCulture)}" : "")}
            """));
    }
}
