using System.Text.Json;

namespace Sweep.Models.Checkpoints;

/// <summary>The config.json keys of GPT-2, GPT-NeoX and Gemma-2, with the defaults of their transformers config classes.</summary>
public sealed partial record HfConfig
{
    /// <summary>LayerNorm epsilon (GPT-2 layer_norm_epsilon, GPT-NeoX layer_norm_eps).</summary>
    public double LayerNormEps { get; init; } = 1e-5;
    /// <summary>GPT-NeoX rotary_pct: the share of each head's dimensions that RoPE rotates (1 elsewhere).</summary>
    public double RotaryPct { get; init; } = 1.0;
    /// <summary>GPT-NeoX use_parallel_residual: attention and MLP both read the block's input, x + attn(ln1(x)) + mlp(ln2(x)).</summary>
    public bool UseParallelResidual { get; init; }
    /// <summary>Gemma-2 query_pre_attn_scalar: scores are scaled by its inverse square root instead of head_dim's.</summary>
    public double? QueryPreAttnScalar { get; init; }
    /// <summary>Gemma-2 attn_logit_softcapping (null: none).</summary>
    public double? AttnLogitSoftcapping { get; init; }
    /// <summary>Gemma-2 final_logit_softcapping (null: none).</summary>
    public double? FinalLogitSoftcapping { get; init; }
    /// <summary>Gemma-2's per-layer attention kind, "sliding_attention" or "full_attention".</summary>
    public IReadOnlyList<string>? LayerTypes { get; init; }

    private static HfConfig ReadGpt2(JsonElement root, string path)
    {
        if (Bool(root, "scale_attn_by_inverse_layer_idx", false))
            throw new ModelLoadException($"{path}: scale_attn_by_inverse_layer_idx true is not supported, expected false (GPT-2 as published)");
        if (!Bool(root, "scale_attn_weights", true))
            throw new ModelLoadException($"{path}: scale_attn_weights false is not supported, expected true (GPT-2 as published)");
        int d = Int(root, "n_embd", path), heads = Int(root, "n_head", path);
        return new HfConfig
        {
            ModelType = "gpt2",
            HiddenSize = d,
            IntermediateSize = OptInt(root, "n_inner") ?? 4 * d,
            NumLayers = Int(root, "n_layer", path),
            NumHeads = heads,
            NumKeyValueHeads = heads,
            VocabSize = Int(root, "vocab_size", path),
            MaxPositions = OptInt(root, "n_positions") ?? 1024,
            LayerNormEps = OptDouble(root, "layer_norm_epsilon") ?? 1e-5,
            HiddenAct = OptStr(root, "activation_function") ?? "gelu_new",
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", true),
            BosTokenId = OptInt(root, "bos_token_id"),
            EosTokenId = OptInt(root, "eos_token_id"),
            PadTokenId = OptInt(root, "pad_token_id"),
        };
    }

    private static HfConfig ReadGptNeoX(JsonElement root, string path)
    {
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
            throw new ModelLoadException($"{path}: rope_scaling is not supported for gpt_neox, expected null");
        int heads = Int(root, "num_attention_heads", path);
        return new HfConfig
        {
            ModelType = "gpt_neox",
            HiddenSize = Int(root, "hidden_size", path),
            IntermediateSize = Int(root, "intermediate_size", path),
            NumLayers = Int(root, "num_hidden_layers", path),
            NumHeads = heads,
            NumKeyValueHeads = heads,
            VocabSize = Int(root, "vocab_size", path),
            MaxPositions = OptInt(root, "max_position_embeddings") ?? 2048,
            LayerNormEps = OptDouble(root, "layer_norm_eps") ?? 1e-5,
            RotaryPct = OptDouble(root, "rotary_pct") ?? 0.25,
            RopeTheta = OptDouble(root, "rotary_emb_base") ?? OptDouble(root, "rope_theta") ?? 10000.0,
            UseParallelResidual = Bool(root, "use_parallel_residual", true),
            HiddenAct = OptStr(root, "hidden_act") ?? "gelu",
            AttentionBias = Bool(root, "attention_bias", true),
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", false),
            BosTokenId = OptInt(root, "bos_token_id"),
            EosTokenId = OptInt(root, "eos_token_id"),
            PadTokenId = OptInt(root, "pad_token_id"),
        };
    }

    private static HfConfig ReadGemma2(JsonElement root, string path)
    {
        if (root.TryGetProperty("rope_scaling", out var rs) && rs.ValueKind != JsonValueKind.Null)
            throw new ModelLoadException($"{path}: rope_scaling is not supported for gemma2, expected null");
        int heads = Int(root, "num_attention_heads", path);
        IReadOnlyList<string>? layerTypes = null;
        if (root.TryGetProperty("layer_types", out var lt) && lt.ValueKind == JsonValueKind.Array)
        {
            layerTypes = lt.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : "").ToList();
            if (layerTypes.FirstOrDefault(t => t is not ("sliding_attention" or "full_attention")) is { } bad)
                throw new ModelLoadException($"{path}: layer_types holds '{bad}', expected \"sliding_attention\" or \"full_attention\"");
        }
        var config = new HfConfig
        {
            ModelType = "gemma2",
            HiddenSize = Int(root, "hidden_size", path),
            IntermediateSize = Int(root, "intermediate_size", path),
            NumLayers = Int(root, "num_hidden_layers", path),
            NumHeads = heads,
            NumKeyValueHeads = OptInt(root, "num_key_value_heads") ?? heads,
            VocabSize = Int(root, "vocab_size", path),
            MaxPositions = OptInt(root, "max_position_embeddings") ?? 8192,
            RmsNormEps = OptDouble(root, "rms_norm_eps") ?? 1e-6,
            RopeTheta = OptDouble(root, "rope_theta") ?? 10000.0,
            HeadDim = OptInt(root, "head_dim") ?? 256,
            QueryPreAttnScalar = OptDouble(root, "query_pre_attn_scalar") ?? 256,
            AttnLogitSoftcapping = OptionalCap(root, "attn_logit_softcapping", 50.0),
            FinalLogitSoftcapping = OptionalCap(root, "final_logit_softcapping", 30.0),
            SlidingWindow = root.TryGetProperty("sliding_window", out var sw) && sw.ValueKind == JsonValueKind.Null ? null : OptInt(root, "sliding_window") ?? 4096,
            LayerTypes = layerTypes,
            HiddenAct = OptStr(root, "hidden_activation") ?? OptStr(root, "hidden_act") ?? "gelu_pytorch_tanh",
            AttentionBias = Bool(root, "attention_bias", false),
            TieWordEmbeddings = Bool(root, "tie_word_embeddings", true),
            BosTokenId = OptInt(root, "bos_token_id"),
            EosTokenId = OptInt(root, "eos_token_id"),
            PadTokenId = OptInt(root, "pad_token_id"),
        };
        if (layerTypes is not null && layerTypes.Count != config.NumLayers)
            throw new ModelLoadException($"{path}: layer_types lists {layerTypes.Count} layers, expected num_hidden_layers = {config.NumLayers}");
        return config;
    }

    /// <summary>A soft-capping value: absent gives the config class default, null disables it.</summary>
    private static double? OptionalCap(JsonElement root, string key, double fallback) =>
        !root.TryGetProperty(key, out var v) ? fallback : v.ValueKind == JsonValueKind.Null ? null : OptDouble(root, key);

    private static string? OptStr(JsonElement root, string key) =>
        root.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static bool Bool(JsonElement root, string key, bool fallback) =>
        root.TryGetProperty(key, out var v) ? v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => fallback } : fallback;
}
