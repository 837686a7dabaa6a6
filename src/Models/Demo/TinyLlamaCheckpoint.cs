using System.Text;
using System.Text.Json;
using Sweep.Models.Checkpoints;
using Sweep.Models.Training;

namespace Sweep.Models.Demo;

/// <summary>The dimensions of a <see cref="TinyLlamaCheckpoint"/>; the defaults make a ~0.2M-parameter model.</summary>
public sealed record TinyLlamaShape
{
    public required int VocabSize { get; init; }
    public int HiddenSize { get; init; } = 64;
    public int IntermediateSize { get; init; } = 172;
    public int NumLayers { get; init; } = 2;
    public int NumHeads { get; init; } = 4;
    public int NumKeyValueHeads { get; init; } = 2;
    /// <summary>Per-head width; null: hidden_size / num_heads (config.json's head_dim is written either way).</summary>
    public int? HeadDim { get; init; }
    public int MaxPositions { get; init; } = 512;
    public double RopeTheta { get; init; } = 10000.0;
    public double RmsNormEps { get; init; } = 1e-5;
    public bool TieWordEmbeddings { get; init; } = true;
    public int? BosTokenId { get; init; } = 1;
    public int? EosTokenId { get; init; } = 2;
    /// <summary>Standard deviation of the linear and embedding weights (HF's initializer_range).</summary>
    public double InitializerRange { get; init; } = 0.02;
}

/// <summary>
/// Writes a small, untrained Llama-architecture Hugging Face directory (config.json + model.safetensors,
/// float32) from a seed. The same shape and seed give byte-identical files on every machine: weights come
/// from <see cref="SeededRandom"/> (SplitMix64 and an Irwin–Hall normal), one stream per tensor.
/// Tokenizer files are not written here; callers add them to the same directory.
/// </summary>
public static class TinyLlamaCheckpoint
{
    public static void Write(string directory, TinyLlamaShape shape, ulong seed)
    {
        int headDim = shape.HeadDim ?? shape.HiddenSize / shape.NumHeads;
        if ((shape.HeadDim is null && shape.HiddenSize % shape.NumHeads != 0) || shape.NumHeads % shape.NumKeyValueHeads != 0 || headDim <= 0 || headDim % 2 != 0)
            throw new ArgumentException($"shape {shape}: hidden_size must be a multiple of num_heads (or head_dim given), num_heads of num_key_value_heads, and the head dimension even");
        if (shape.VocabSize < 1) throw new ArgumentException($"vocab size {shape.VocabSize}, expected at least 1");
        Directory.CreateDirectory(directory);

        long d = shape.HiddenSize, hd = headDim, ff = shape.IntermediateSize;
        long q = shape.NumHeads * hd, kv = shape.NumKeyValueHeads * hd, vocab = shape.VocabSize;
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        void Normal(string name, params long[] dims) => tensors[name] = (SeededRandom.Normal(seed, name, dims.Aggregate(1L, (a, b) => a * b), shape.InitializerRange), dims);
        void Ones(string name, long n) => tensors[name] = (Enumerable.Repeat(1f, (int)n).ToArray(), [n]);

        Normal("model.embed_tokens.weight", vocab, d);
        for (int l = 0; l < shape.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            Ones(p + "input_layernorm.weight", d);
            Normal(p + "self_attn.q_proj.weight", q, d);
            Normal(p + "self_attn.k_proj.weight", kv, d);
            Normal(p + "self_attn.v_proj.weight", kv, d);
            Normal(p + "self_attn.o_proj.weight", d, q);
            Ones(p + "post_attention_layernorm.weight", d);
            Normal(p + "mlp.gate_proj.weight", ff, d);
            Normal(p + "mlp.up_proj.weight", ff, d);
            Normal(p + "mlp.down_proj.weight", d, ff);
        }
        Ones("model.norm.weight", d);
        if (!shape.TieWordEmbeddings) Normal("lm_head.weight", vocab, d);

        AtomicFile.WriteAllBytes(Path.Combine(directory, "config.json"), ConfigJson(shape));
        SafeTensors.Write(Path.Combine(directory, "model.safetensors"), tensors, SafeTensorDtype.F32,
                          new Dictionary<string, string> { ["sweep_demo_seed"] = seed.ToString() });
    }

    /// <summary>The config.json a <c>LlamaForCausalLM</c> of this shape carries, with the keys transformers writes.</summary>
    public static byte[] ConfigJson(TinyLlamaShape s)
    {
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteStartArray("architectures"); w.WriteStringValue("LlamaForCausalLM"); w.WriteEndArray();
            w.WriteBoolean("attention_bias", false);
            w.WriteNumber("attention_dropout", 0.0);
            if (s.BosTokenId is int bos) w.WriteNumber("bos_token_id", bos); else w.WriteNull("bos_token_id");
            if (s.EosTokenId is int eos) w.WriteNumber("eos_token_id", eos); else w.WriteNull("eos_token_id");
            w.WriteNumber("head_dim", s.HeadDim ?? s.HiddenSize / s.NumHeads);
            w.WriteString("hidden_act", "silu");
            w.WriteNumber("hidden_size", s.HiddenSize);
            w.WriteNumber("initializer_range", s.InitializerRange);
            w.WriteNumber("intermediate_size", s.IntermediateSize);
            w.WriteNumber("max_position_embeddings", s.MaxPositions);
            w.WriteBoolean("mlp_bias", false);
            w.WriteString("model_type", "llama");
            w.WriteNumber("num_attention_heads", s.NumHeads);
            w.WriteNumber("num_hidden_layers", s.NumLayers);
            w.WriteNumber("num_key_value_heads", s.NumKeyValueHeads);
            w.WriteNumber("pretraining_tp", 1);
            w.WriteNumber("rms_norm_eps", s.RmsNormEps);
            w.WriteNull("rope_scaling");
            w.WriteNumber("rope_theta", s.RopeTheta);
            w.WriteBoolean("tie_word_embeddings", s.TieWordEmbeddings);
            w.WriteString("torch_dtype", "float32");
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("vocab_size", s.VocabSize);
            w.WriteEndObject();
        }
        json.WriteByte((byte)'\n');
        return json.ToArray();
    }
}
