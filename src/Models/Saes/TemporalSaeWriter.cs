using System.Globalization;
using System.Text;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Saes;

/// <summary>
/// Writes a temporal SAE in the reference repository's layout: <c>conf.yaml</c> (the keys its
/// <c>TemporalSAE.from_pretrained</c> reads, plus <c>llm.hook_name</c> when known) and <c>latest_ckpt.safetensors</c>
/// with the module's state-dict names, in the config's dtype.
/// </summary>
public static class TemporalSaeWriter
{
    public const string Weights = "latest_ckpt.safetensors";

    public static void Save(TemporalSae sae, string directory)
    {
        var c = sae.Config;
        int w = c.DSae, din = c.DIn, ne = w / sae.BottleneckFactor;
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>
        {
            ["D"] = (sae.D, [w, din]),
            ["b"] = (sae.B, [1, din]),
        };
        if (sae.E is { } e) tensors["E"] = (e, [din, w]);
        for (int i = 0; i < sae.Layers.Count; i++)
        {
            var l = sae.Layers[i];
            string p = $"attn_layers.{i}.";
            tensors[p + "k_ctx.weight"] = (l.KWeight, [ne, w]);
            tensors[p + "k_ctx.bias"] = (l.KBias, [ne]);
            tensors[p + "q_target.weight"] = (l.QWeight, [ne, w]);
            tensors[p + "q_target.bias"] = (l.QBias, [ne]);
            tensors[p + "v_ctx.weight"] = (l.VWeight, [w, w]);
            tensors[p + "v_ctx.bias"] = (l.VBias, [w]);
            tensors[p + "c_proj.weight"] = (l.OWeight, [w, w]);
            tensors[p + "c_proj.bias"] = (l.OBias, [w]);
        }
        var dtype = c.Dtype switch { "float16" => SafeTensorDtype.F16, "bfloat16" => SafeTensorDtype.BF16, _ => SafeTensorDtype.F32 };
        SafeTensors.Write(Path.Combine(directory, Weights), tensors, dtype);

        var yaml = new StringBuilder();
        yaml.Append("llm:\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  dimin: {din}\n");
        if (c.HookName is { } hook) yaml.Append(CultureInfo.InvariantCulture, $"  hook_name: {hook}\n");
        if (c.ModelName is { } model) yaml.Append(CultureInfo.InvariantCulture, $"  model_hf_name: {model}\n");
        yaml.Append("sae:\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  exp_factor: {(w / (double)din).ToString("R", CultureInfo.InvariantCulture)}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  n_heads: {sae.NumHeads}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  n_attn_layers: {sae.Layers.Count}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  bottleneck_factor: {sae.BottleneckFactor}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  sae_diff_type: {(c.K is null ? "relu" : "topk")}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  kval_topk: {(c.K is { } k ? k.ToString(CultureInfo.InvariantCulture) : "null")}\n");
        yaml.Append(CultureInfo.InvariantCulture, $"  tied_weights: {(sae.E is null ? "true" : "false")}\n");
        if (c.ScalingFactor != 1.0) yaml.Append(CultureInfo.InvariantCulture, $"  scaling_factor: {c.ScalingFactor.ToString("R", CultureInfo.InvariantCulture)}\n");
        File.WriteAllText(Path.Combine(directory, SaeLoader.TemporalConfig), yaml.ToString());
    }
}
