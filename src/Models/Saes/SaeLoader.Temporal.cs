using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Sweep.Models.Saes;

/// <summary>Temporal SAEs in the reference repository's layout: <c>conf.yaml</c> + one <c>*.safetensors</c> checkpoint.</summary>
public static partial class SaeLoader
{
    // The reference trainer saves its whole Hydra config as conf.yaml. Keys Sweep reads, and keys it knows only
    // matter for training (accepted and ignored); any other key is refused, since it may change the codes.
    private static readonly string[] TemporalLlmKeys = ["dimin", "hook_name", "model_hf_name"];
    private static readonly string[] TemporalLlmTrainingKeys = ["tokenizer_hf_name"];
    private static readonly string[] TemporalSaeKeys =
        ["sae_type", "exp_factor", "n_heads", "n_attn_layers", "bottleneck_factor", "sae_diff_type", "kval_topk", "tied_weights", "scaling_factor"];
    private static readonly string[] TemporalSaeTrainingKeys = ["gamma_reg", "block_id"];
    private static readonly string[] TemporalTopLevelTrainingKeys = ["deploy", "tag", "seed", "device_id", "data", "optimizer", "eval", "log", "defaults", "hydra"];

    private sealed record TemporalConfigRecord(SaeConfig Config, int Heads, int Layers, int Bottleneck, bool Tied);

    private static TemporalConfigRecord ReadTemporalConfig(string path)
    {
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(path)));
            root = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode r ? r
                : throw new SaeLoadException($"{path}: expected a mapping with keys llm and sae");
        }
        catch (YamlDotNet.Core.YamlException e) { throw new SaeLoadException($"{path}: YAML syntax error at line {e.Start.Line}: {e.Message}", e); }

        RefuseUnknownKeys(path, root, "", ["llm", "sae"], TemporalTopLevelTrainingKeys);
        YamlMappingNode Section(string name) =>
            root.Children.TryGetValue(new YamlScalarNode(name), out var n) && n is YamlMappingNode m ? m
            : throw new SaeLoadException($"{path}: section '{name}' is missing, expected a mapping");
        var llm = Section("llm");
        var sae = Section("sae");
        RefuseUnknownKeys(path, llm, "llm.", TemporalLlmKeys, TemporalLlmTrainingKeys);
        RefuseUnknownKeys(path, sae, "sae.", TemporalSaeKeys, TemporalSaeTrainingKeys);
        string? Scalar(YamlMappingNode m, string key) =>
            m.Children.TryGetValue(new YamlScalarNode(key), out var n) && n is YamlScalarNode s && s.Value is not (null or "null" or "~" or "") ? s.Value : null;
        double Number(YamlMappingNode m, string section, string key, double? fallback = null) =>
            Scalar(m, key) is { } v ? (double.TryParse(v.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
                : throw new SaeLoadException($"{path}: {section}.{key} '{v}' must be a number"))
            : fallback ?? throw new SaeLoadException($"{path}: {section}.{key} is missing");

        if (Scalar(sae, "sae_type") is { } type && type != "temporal")
            throw new SaeLoadException($"{path}: sae.sae_type '{type}' is not supported in conf.yaml, expected temporal (standard SAEs of this repository: convert them to a SAELens folder)");
        int dIn = (int)Number(llm, "llm", "dimin");
        // int(dimin * exp_factor) as the reference does; the epsilon keeps 64 * 1.1 style products from truncating to one less.
        int width = (int)(dIn * Number(sae, "sae", "exp_factor") + 1e-9);
        string diff = Scalar(sae, "sae_diff_type") ?? "relu";
        if (diff is not ("relu" or "topk")) throw new SaeLoadException($"{path}: sae.sae_diff_type '{diff}' is not supported, expected relu or topk");
        int? k = diff == "topk" ? (int)Number(sae, "sae", "kval_topk") : null;
        bool tied = (Scalar(sae, "tied_weights") ?? "true").ToLowerInvariant() is "true" or "yes";
        var heads = (int)Number(sae, "sae", "n_heads", 8);
        var bottleneck = (int)Number(sae, "sae", "bottleneck_factor", 64);
        if (heads < 1 || bottleneck < 1 || width % (heads * bottleneck) != 0)
            throw new SaeLoadException($"{path}: width {width} (llm.dimin x sae.exp_factor) must be divisible by sae.n_heads x sae.bottleneck_factor = {heads * bottleneck}");
        // The reference trainer multiplies the activations by sae.scaling_factor before the SAE (train_temporal_saes.py);
        // a config without the key was trained on the activations as they are.
        double scaling = Number(sae, "sae", "scaling_factor", 1.0);
        if (!double.IsFinite(scaling) || scaling <= 0)
            throw new SaeLoadException($"{path}: sae.scaling_factor is {Scalar(sae, "scaling_factor")}, expected a positive number");
        var config = new SaeConfig
        {
            Format = SaeFormat.Temporal, Architecture = SaeArchitecture.Temporal, DIn = dIn, DSae = width, K = k,
            ApplyBDecToInput = true, HookName = Scalar(llm, "hook_name"), ModelName = Scalar(llm, "model_hf_name"), ScalingFactor = scaling,
        };
        return new TemporalConfigRecord(config, heads, (int)Number(sae, "sae", "n_attn_layers", 1), bottleneck, tied);
    }

    private static void RefuseUnknownKeys(string path, YamlMappingNode node, string prefix, string[] read, string[] trainingOnly)
    {
        foreach (var key in node.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? key.ToString();
            if (read.Contains(name) || trainingOnly.Contains(name)) continue;
            throw new SaeLoadException($"{path}: key '{prefix}{name}' is not understood (it may change the codes), expected only "
                + string.Join(", ", read.Select(k => prefix + k)) + " (and the training-only " + string.Join(", ", trainingOnly.Select(k => prefix + k)) + ")");
        }
    }

    private static string TemporalWeightsFile(string directory)
    {
        var preferred = Path.Combine(directory, "latest_ckpt.safetensors");
        if (File.Exists(preferred)) return preferred;
        var files = Directory.GetFiles(directory, "*.safetensors");
        return files.Length == 1 ? files[0]
            : throw new SaeLoadException($"{directory}: expected one *.safetensors checkpoint beside conf.yaml (or latest_ckpt.safetensors), found {files.Length}");
    }

    private static TemporalSae LoadTemporal(SaeFolder folder, string device)
    {
        var record = ReadTemporalConfig(folder.ConfigFile!);
        var c = record.Config;
        int w = c.DSae, din = c.DIn, ne = w / record.Bottleneck;
        using var file = OpenWeights(folder.WeightsFile);
        // The reference checkpoint stores the state dict under 'sae'; accept names with or without that prefix.
        string prefix = file.Contains("sae.D") ? "sae." : "";
        var expected = new HashSet<string> { prefix + "D", prefix + "b" };
        float[] R(string name, params long[] shape) { expected.Add(prefix + name); return Read(file, prefix + name, shape); }
        var d = R("D", w, din);
        var b = Read(file, prefix + "b", file.Entry(prefix + "b").Shape.Length == 2 ? [1, din] : [din]);
        var e = record.Tied ? null : R("E", din, w);
        var layers = new List<TemporalAttentionWeights>();
        for (int i = 0; i < record.Layers; i++)
        {
            string l = $"attn_layers.{i}.";
            layers.Add(new TemporalAttentionWeights(
                R(l + "k_ctx.weight", ne, w), R(l + "k_ctx.bias", ne), R(l + "q_target.weight", ne, w), R(l + "q_target.bias", ne),
                R(l + "v_ctx.weight", w, w), R(l + "v_ctx.bias", w), R(l + "c_proj.weight", w, w), R(l + "c_proj.bias", w)));
        }
        RefuseExtra(file, expected);
        return new TemporalSae(c with { Dtype = DtypeOf(file.Entry(prefix + "D").Dtype) }, record.Heads, record.Bottleneck, d, b, e, layers, device);
    }
}
