using System.Text.Json;

namespace Sweep.Models.Checkpoints;

/// <summary>The fields of a Hugging Face <c>config.json</c> that Sweep's architectures read.</summary>
public sealed partial record HfConfig
{
    public required string ModelType { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumLayers { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int VocabSize { get; init; }
    public int MaxPositions { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    public bool TieWordEmbeddings { get; init; }
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
    public int? PadTokenId { get; init; }
    /// <summary>config.json's head_dim where given (e.g. Mistral Nemo), else hidden_size / num_attention_heads.</summary>
    public int HeadDim { get => _headDim ?? HiddenSize / NumHeads; init => _headDim = value; }
    private readonly int? _headDim;
    /// <summary>Mistral's sliding_window: a query attends only to the last this-many positions (null: no window).</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>config.json's rope_scaling (null: plain RoPE).</summary>
    public RopeScaling? RopeScaling { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public string HiddenAct { get; init; } = "silu";

    public static readonly IReadOnlySet<string> SupportedModelTypes = new SortedSet<string>(StringComparer.Ordinal) { "gemma2", "gpt2", "gpt_neox", "llama", "mistral" };

    public static HfConfig Read(string directory)
    {
        var path = Path.Combine(directory, "config.json");
        if (!File.Exists(path)) throw new ModelLoadException($"{path}: file not found, expected a Hugging Face config.json");
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(path)).RootElement; }
        catch (JsonException e) { throw new ModelLoadException($"{path}: not valid JSON ({e.Message})", e); }

        string modelType = Str(root, "model_type", path);
        return modelType switch
        {
            "llama" or "mistral" => ReadLlama(root, path, modelType),
            "gpt2" => ReadGpt2(root, path),
            "gpt_neox" => ReadGptNeoX(root, path),
            "gemma2" => ReadGemma2(root, path),
            _ => throw new ModelLoadException($"{path}: model_type '{modelType}' is not supported, expected one of: {string.Join(", ", SupportedModelTypes)}"),
        };
    }

    private static HfConfig ReadLlama(JsonElement root, string path, string modelType)
    {
        int heads = Int(root, "num_attention_heads", path);
        var config = new HfConfig
        {
            ModelType = modelType,
            HiddenSize = Int(root, "hidden_size", path),
            IntermediateSize = Int(root, "intermediate_size", path),
            NumLayers = Int(root, "num_hidden_layers", path),
            NumHeads = heads,
            NumKeyValueHeads = OptInt(root, "num_key_value_heads") ?? heads,
            VocabSize = Int(root, "vocab_size", path),
            MaxPositions = OptInt(root, "max_position_embeddings") ?? 2048,
            RmsNormEps = OptDouble(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = OptDouble(root, "rope_theta") ?? 10000.0,
            TieWordEmbeddings = root.TryGetProperty("tie_word_embeddings", out var t) && t.ValueKind == JsonValueKind.True,
            BosTokenId = OptInt(root, "bos_token_id"),
            EosTokenId = OptInt(root, "eos_token_id"),
            PadTokenId = OptInt(root, "pad_token_id"),
            SlidingWindow = OptInt(root, "sliding_window"),
            RopeScaling = ReadRopeScaling(root, path),
            AttentionBias = root.TryGetProperty("attention_bias", out var ab) && ab.ValueKind == JsonValueKind.True,
            MlpBias = root.TryGetProperty("mlp_bias", out var mb) && mb.ValueKind == JsonValueKind.True,
            HiddenAct = root.TryGetProperty("hidden_act", out var act) && act.ValueKind == JsonValueKind.String ? act.GetString()! : "silu",
        };
        return OptInt(root, "head_dim") is int headDim ? config with { HeadDim = headDim } : config;
    }

    private static RopeScaling? ReadRopeScaling(JsonElement root, string path)
    {
        if (!root.TryGetProperty("rope_scaling", out var r) || r.ValueKind == JsonValueKind.Null) return null;
        if (r.ValueKind != JsonValueKind.Object) throw new ModelLoadException($"{path}: key 'rope_scaling' must be an object or null");
        string type = (r.TryGetProperty("rope_type", out var t) || r.TryGetProperty("type", out t)) && t.ValueKind == JsonValueKind.String
            ? t.GetString()! : throw new ModelLoadException($"{path}: rope_scaling has no 'rope_type', expected e.g. \"linear\" or \"llama3\"");
        double D(string key, double fallback) => r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : fallback;
        return new RopeScaling(type, D("factor", 1.0), D("low_freq_factor", 1.0), D("high_freq_factor", 4.0),
                               (int)D("original_max_position_embeddings", 8192));
    }

    private static string Str(JsonElement root, string key, string path) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new ModelLoadException($"{path}: key '{key}' missing, expected a string");

    private static int Int(JsonElement root, string key, string path) =>
        OptInt(root, key) ?? throw new ModelLoadException($"{path}: key '{key}' missing, expected an integer");

    private static int? OptInt(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : null;

    private static double? OptDouble(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}

/// <summary>config.json's rope_scaling: the type (linear, llama3, ...) and the parameters those types use.</summary>
public sealed record RopeScaling(string Type, double Factor, double LowFreqFactor, double HighFreqFactor, int OriginalMaxPositions);
