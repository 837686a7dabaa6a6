using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Saes;

/// <summary>
/// Reads SAEs as they are published: SAELens folders (<c>cfg.json</c> + <c>sae_weights.safetensors</c>), EleutherAI
/// sparsify (<c>cfg.json</c> + <c>sae.safetensors</c>), temporal SAEs (<c>conf.yaml</c> + one <c>*.safetensors</c>),
/// Gemma Scope (<c>params.npz</c>) and PyTorch state dicts (<c>*.pt</c>/<c>*.pth</c>, optionally with a <c>cfg.json</c>).
/// Every refusal is one line naming the file and what was expected. See docs/saes.md.
/// </summary>
public static partial class SaeLoader
{
    public const string SaeLensConfig = "cfg.json";
    public const string SaeLensWeights = "sae_weights.safetensors";
    public const string SparsifyWeights = "sae.safetensors";
    public const string TemporalConfig = "conf.yaml";
    public const string GemmaScopeWeights = "params.npz";

    private const string Layouts = "cfg.json + sae_weights.safetensors (SAELens), cfg.json + sae.safetensors (sparsify), conf.yaml + *.safetensors (temporal SAE), params.npz (Gemma Scope) or one *.pt/*.pth state dict";

    /// <summary>
    /// A described SAE: where it is (a folder, or the .npz/.pt file itself), its config, and the files (and job
    /// settings) that determine its codes. <paramref name="ConfigFile"/> is null when the weights carry no config
    /// (Gemma Scope, a bare state dict).
    /// </summary>
    public sealed record SaeFolder(string Directory, SaeConfig Config, string? ConfigFile, string WeightsFile, SaeJobSettings? Settings = null)
    {
        /// <summary>
        /// <c>sha256:</c> over the config and weights files' names and bytes (and the job's settings, when it gave
        /// any): equal digests, equal codes.
        /// </summary>
        public string ComputeDigest()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var file in new[] { ConfigFile, WeightsFile }.OfType<string>())
            {
                hash.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
                using var stream = File.OpenRead(file);
                var buffer = new byte[1 << 20];
                int n;
                while ((n = stream.Read(buffer)) > 0) hash.AppendData(buffer, 0, n);
            }
            if (Settings is { IsEmpty: false } settings) hash.AppendData(Encoding.UTF8.GetBytes("job:" + settings.Text + "\n"));
            return "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    /// <summary>
    /// Reads only what validating a job needs (configs, tensor names and shapes; no weights). <paramref name="path"/>
    /// is an SAE folder, a <c>.npz</c> or a <c>.pt</c>/<c>.pth</c> file; <paramref name="job"/> is what the job says
    /// about an SAE whose files do not. Throws <see cref="SaeLoadException"/>.
    /// </summary>
    public static SaeFolder Describe(string path, SaeJobSettings? job = null)
    {
        var folder = DescribeFiles(path, job);
        if (job is { IsEmpty: false } && folder.Config.Format != SaeFormat.PyTorch)
            throw new SaeLoadException($"{folder.ConfigFile ?? folder.WeightsFile}: the SAE's own files give its architecture ({folder.Config.ArchitectureName}), so the job must not set architecture or k");
        return folder;
    }

    private static SaeFolder DescribeFiles(string path, SaeJobSettings? job)
    {
        if (File.Exists(path))
            return Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".npz" => DescribeGemmaScope(path),
                ".pt" or ".pth" => DescribePyTorch(path, job),
                _ => throw new SaeLoadException($"{path}: not an SAE file, expected a folder ({Layouts}), a .npz or a .pt/.pth file"),
            };
        if (!Directory.Exists(path)) throw new SaeLoadException($"{path}: no such file or folder, expected an SAE folder ({Layouts})");
        var directory = path;
        var cfg = Path.Combine(directory, SaeLensConfig);
        if (File.Exists(Path.Combine(directory, TemporalConfig)))
            return new SaeFolder(directory, ReadTemporalConfig(Path.Combine(directory, TemporalConfig)).Config, Path.Combine(directory, TemporalConfig), TemporalWeightsFile(directory));
        if (File.Exists(cfg) && File.Exists(Path.Combine(directory, SaeLensWeights)))
            return new SaeFolder(directory, ReadSaeLensConfig(cfg), cfg, Path.Combine(directory, SaeLensWeights));
        if (File.Exists(cfg) && File.Exists(Path.Combine(directory, SparsifyWeights)))
            return new SaeFolder(directory, ReadSparsifyConfig(cfg), cfg, Path.Combine(directory, SparsifyWeights));
        if (File.Exists(Path.Combine(directory, GemmaScopeWeights)))
            return DescribeGemmaScope(Path.Combine(directory, GemmaScopeWeights));
        var checkpoints = Directory.GetFiles(directory).Where(f => Path.GetExtension(f).ToLowerInvariant() is ".pt" or ".pth").Order(StringComparer.Ordinal).ToList();
        if (checkpoints.Count == 1) return DescribePyTorch(checkpoints[0], job);
        if (checkpoints.Count > 1)
            throw new SaeLoadException($"{directory}: {checkpoints.Count} PyTorch checkpoints ({string.Join(", ", checkpoints.Select(Path.GetFileName))}), expected one, or the path of the one to use");
        throw new SaeLoadException($"{directory}: no SAE found, expected {Layouts}");
    }

    /// <summary>Loads the SAE at <paramref name="path"/> (a folder or file, see <see cref="Describe"/>) for computing on <paramref name="device"/>.</summary>
    public static ISparseEncoder Load(string path, string device = "cpu") => Load(Describe(path), device);

    /// <summary>Loads a described SAE (with the job's settings it was described with) for computing on <paramref name="device"/>.</summary>
    public static ISparseEncoder Load(SaeFolder folder, string device = "cpu") => folder.Config.Format switch
    {
        SaeFormat.SaeLens => LoadSaeLens(folder, device),
        SaeFormat.Sparsify => LoadSparsify(folder, device),
        SaeFormat.GemmaScope => LoadGemmaScope(folder, device),
        SaeFormat.PyTorch => LoadPyTorch(folder, device),
        _ => LoadTemporal(folder, device),
    };

    // ---------------------------------------------------------------- SAELens

    private static SaeConfig ReadSaeLensConfig(string path)
    {
        var root = ReadJson(path);
        var metadata = root.TryGetProperty("metadata", out var m) && m.ValueKind == JsonValueKind.Object ? m : (JsonElement?)null;
        string? Str(string key) =>
            root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()
            : metadata is { } md && md.TryGetProperty(key, out var mv) && mv.ValueKind == JsonValueKind.String ? mv.GetString() : null;

        string architecture = Str("architecture") ?? "standard";
        // SAELens before v6 wrote TopK as architecture "standard" with activation_fn_str "topk" and activation_fn_kwargs.k.
        string activation = Str("activation_fn_str") ?? Str("activation_fn") ?? "relu";
        int? k = Int(root, "k", path, required: false);
        if (root.TryGetProperty("activation_fn_kwargs", out var kwargs) && kwargs.ValueKind == JsonValueKind.Object && kwargs.TryGetProperty("k", out var kv))
            k ??= kv.TryGetInt32(out var ki) ? ki : throw new SaeLoadException($"{path}: activation_fn_kwargs.k must be an integer");
        var arch = (architecture, activation) switch
        {
            ("topk", _) or ("standard", "topk") => SaeArchitecture.TopK,
            ("standard", "relu") => SaeArchitecture.Standard,
            ("jumprelu", _) => SaeArchitecture.JumpRelu,
            ("standard", _) => throw new SaeLoadException($"{path}: activation_fn '{activation}' is not supported, expected relu or topk"),
            ("temporal", _) => throw new SaeLoadException($"{path}: SAELens-format temporal SAEs are not supported, expected the reference layout (conf.yaml + latest_ckpt.safetensors, see docs/saes.md)"),
            _ => throw new SaeLoadException($"{path}: architecture '{architecture}' is not supported, expected standard, topk or jumprelu"),
        };
        if (arch == SaeArchitecture.TopK && k is not (> 0)) throw new SaeLoadException($"{path}: a TopK SAE needs k > 0 (key k or activation_fn_kwargs.k)");
        if (Bool(root, "finetuning_scaling_factor", path) == true) throw new SaeLoadException($"{path}: finetuning_scaling_factor is not supported, expected false");
        if (Bool(root, "rescale_acts_by_decoder_norm", path) == true) throw new SaeLoadException($"{path}: rescale_acts_by_decoder_norm is not supported, expected false");
        if (Str("reshape_activations") is { } reshape && reshape != "none") throw new SaeLoadException($"{path}: reshape_activations '{reshape}' (hook_z SAEs) is not supported, expected none");
        if (metadata is { } mdh && mdh.TryGetProperty("hook_head_index", out var hh) && hh.ValueKind != JsonValueKind.Null
            || root.TryGetProperty("hook_head_index", out var hh2) && hh2.ValueKind != JsonValueKind.Null)
            throw new SaeLoadException($"{path}: per-head SAEs (hook_head_index) are not supported, expected null");

        return new SaeConfig
        {
            Format = SaeFormat.SaeLens,
            Architecture = arch,
            DIn = Int(root, "d_in", path, required: true)!.Value,
            DSae = Int(root, "d_sae", path, required: true)!.Value,
            K = arch == SaeArchitecture.TopK ? k : null,
            HookName = Str("hook_name"),
            ModelName = Str("model_name"),
            ApplyBDecToInput = Bool(root, "apply_b_dec_to_input", path) ?? true,
            Normalization = Normalization(Str("normalize_activations") ?? "none", path),
            Dtype = Dtype(Str("dtype") ?? "float32", path),
            NeuronpediaId = Str("neuronpedia_id"),
        };
    }

    private static SaeNormalization Normalization(string value, string path) => value switch
    {
        "none" => SaeNormalization.None,
        "expected_average_only_in" => SaeNormalization.ExpectedAverageOnlyIn,
        "constant_norm_rescale" => SaeNormalization.ConstantNormRescale,
        "layer_norm" => SaeNormalization.LayerNorm,
        _ => throw new SaeLoadException($"{path}: normalize_activations '{value}' is not supported, expected none, expected_average_only_in, constant_norm_rescale or layer_norm"),
    };

    private static string Dtype(string value, string path) => value.Replace("torch.", "") switch
    {
        "float32" or "float" => "float32",
        "float16" or "half" => "float16",
        "bfloat16" => "bfloat16",
        _ => throw new SaeLoadException($"{path}: dtype '{value}' is not supported, expected float32, float16 or bfloat16"),
    };

    private static SparseAutoencoder LoadSaeLens(SaeFolder folder, string device)
    {
        var c = folder.Config;
        using var file = OpenWeights(folder.WeightsFile);
        var expected = new HashSet<string> { "W_enc", "b_enc", "W_dec", "b_dec" };
        float[]? threshold = null;
        if (c.Architecture == SaeArchitecture.JumpRelu)
        {
            if (file.Contains("threshold")) { threshold = Read(file, "threshold", c.DSae); expected.Add("threshold"); }
            else if (file.Contains("log_threshold"))
            {
                threshold = Read(file, "log_threshold", c.DSae).Select(v => MathF.Exp(v)).ToArray();
                expected.Add("log_threshold");
            }
            else throw new SaeLoadException($"{folder.WeightsFile}: a JumpReLU SAE needs tensor 'threshold' [{c.DSae}]");
        }
        RefuseExtra(file, expected);
        return new SparseAutoencoder(c, Read(file, "W_enc", c.DIn, c.DSae), Read(file, "b_enc", c.DSae),
            Read(file, "W_dec", c.DSae, c.DIn), Read(file, "b_dec", c.DIn), threshold, device);
    }

    // ---------------------------------------------------------------- sparsify

    private static SaeConfig ReadSparsifyConfig(string path)
    {
        var root = ReadJson(path);
        int dIn = Int(root, "d_in", path, required: true)!.Value;
        int numLatents = Int(root, "num_latents", path, required: false) ?? 0;
        int expansion = Int(root, "expansion_factor", path, required: false) ?? 32;
        int k = Int(root, "k", path, required: true)!.Value;
        if (Bool(root, "skip_connection", path) == true) throw new SaeLoadException($"{path}: skip_connection SAEs are not supported, expected false");
        if (Bool(root, "transcode", path) == true) throw new SaeLoadException($"{path}: transcoders are not supported, expected transcode false");
        if (k <= 0) throw new SaeLoadException($"{path}: k must be positive, found {k}");
        return new SaeConfig
        {
            Format = SaeFormat.Sparsify, Architecture = SaeArchitecture.TopK, DIn = dIn,
            DSae = numLatents > 0 ? numLatents : dIn * expansion, K = k, ApplyBDecToInput = true,
        };
    }

    private static SparseAutoencoder LoadSparsify(SaeFolder folder, string device)
    {
        var c = folder.Config;
        using var file = OpenWeights(folder.WeightsFile);
        RefuseExtra(file, ["encoder.weight", "encoder.bias", "W_dec", "b_dec"]);
        // sparsify's encoder is an nn.Linear (d_sae x d_in); SAELens' W_enc is its transpose.
        var encoder = Read(file, "encoder.weight", c.DSae, c.DIn);
        return new SparseAutoencoder(c with { Dtype = DtypeOf(file.Entry("W_dec").Dtype) }, Transpose(encoder, c.DSae, c.DIn),
            Read(file, "encoder.bias", c.DSae), Read(file, "W_dec", c.DSae, c.DIn), Read(file, "b_dec", c.DIn), null, device);
    }

    // ---------------------------------------------------------------- helpers

    private static JsonElement ReadJson(string path)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path));
            return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone()
                : throw new SaeLoadException($"{path}: expected a JSON object");
        }
        catch (JsonException e) { throw new SaeLoadException($"{path}: not valid JSON ({e.Message})", e); }
    }

    private static int? Int(JsonElement root, string key, string path, bool required)
    {
        if (!root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
            return required ? throw new SaeLoadException($"{path}: key '{key}' is missing, expected a positive integer") : null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) && i > 0 ? i
            : throw new SaeLoadException($"{path}: key '{key}' is {v.GetRawText()}, expected a positive integer");
    }

    private static bool? Bool(JsonElement root, string key, string path) =>
        !root.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
        : throw new SaeLoadException($"{path}: key '{key}' is {v.GetRawText()}, expected true or false");

    private static SafeTensorsFile OpenWeights(string path)
    {
        try { return SafeTensors.Open(path); }
        catch (ModelLoadException e) { throw new SaeLoadException(e.Message, e); }
    }

    private static float[] Read(SafeTensorsFile file, string name, params long[] shape)
    {
        try { return file.ReadFloats(name, shape); }
        catch (ModelLoadException e) { throw new SaeLoadException(e.Message, e); }
    }

    private static void RefuseExtra(SafeTensorsFile file, IEnumerable<string> expected)
    {
        var extra = file.Entries.Keys.Except(expected).Order(StringComparer.Ordinal).ToList();
        if (extra.Count > 0)
            throw new SaeLoadException($"{file.Path}: unexpected tensor(s) {string.Join(", ", extra)} (another SAE architecture?), expected only {string.Join(", ", expected)}");
    }

    private static string DtypeOf(SafeTensorDtype dtype) => dtype switch
    {
        SafeTensorDtype.F16 => "float16",
        SafeTensorDtype.BF16 => "bfloat16",
        _ => "float32",
    };

    internal static float[] Transpose(float[] source, int rows, int cols)
    {
        var result = new float[source.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = source[r * cols + c];
        return result;
    }
}
