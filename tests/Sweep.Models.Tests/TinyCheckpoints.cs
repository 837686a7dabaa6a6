using System.Text.Json.Nodes;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Tests;

/// <summary>
/// Tiny random-weight checkpoints of each family in the real Hugging Face layout (config.json + model.safetensors
/// with transformers' tensor names and shapes), written to a temporary directory. Norm gains and biases are random
/// too, so a forward pass that skips or misplaces one is caught.
/// </summary>
public sealed class TinyCheckpoint : IDisposable
{
    public string Directory { get; }
    public JsonObject Config { get; }

    private TinyCheckpoint(JsonObject config, Dictionary<string, (float[] Data, long[] Shape)> tensors, SafeTensorDtype dtype)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sweep-family-").FullName;
        Config = config;
        File.WriteAllText(Path.Combine(Directory, "config.json"), config.ToJsonString());
        SafeTensors.Write(Path.Combine(Directory, "model.safetensors"), tensors, dtype);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);

    /// <summary>Writes a checkpoint of <paramref name="family"/>: gpt2, gpt2-bare (no "transformer." prefix), gpt_neox, gpt_neox-sequential, llama, mistral (sliding window 4), gemma2.</summary>
    public static TinyCheckpoint Write(string family, int seed = 1, SafeTensorDtype dtype = SafeTensorDtype.F32, Action<JsonObject>? edit = null)
    {
        var rng = new Random(seed);
        var tensors = new Dictionary<string, (float[], long[])>();
        void Normal(string name, double std, params long[] shape) => tensors[name] = (Values(rng, shape, 0, std), shape);
        void Gain(string name, double center, long n) => tensors[name] = (Values(rng, [n], center, 0.2), [n]);

        const int d = 32, vocab = 64, layers = 3;
        JsonObject config;
        switch (family)
        {
            case "gpt2" or "gpt2-bare":
            {
                string p = family == "gpt2" ? "transformer." : "";
                config = new JsonObject
                {
                    ["model_type"] = "gpt2", ["architectures"] = new JsonArray("GPT2LMHeadModel"), ["n_embd"] = d, ["n_head"] = 4,
                    ["n_layer"] = layers, ["n_positions"] = 40, ["n_inner"] = null, ["vocab_size"] = vocab,
                    ["layer_norm_epsilon"] = 1e-5, ["activation_function"] = "gelu_new", ["bos_token_id"] = 0, ["eos_token_id"] = 0,
                };
                Normal(p + "wte.weight", 0.5, vocab, d);
                Normal(p + "wpe.weight", 0.3, 40, d);
                for (int l = 0; l < layers; l++)
                {
                    string b = $"{p}h.{l}.";
                    Gain(b + "ln_1.weight", 1, d); Gain(b + "ln_1.bias", 0, d);
                    Normal(b + "attn.c_attn.weight", 0.3, d, 3 * d); Normal(b + "attn.c_attn.bias", 0.1, 3 * d);
                    Normal(b + "attn.c_proj.weight", 0.2, d, d); Normal(b + "attn.c_proj.bias", 0.1, d);
                    Gain(b + "ln_2.weight", 1, d); Gain(b + "ln_2.bias", 0, d);
                    Normal(b + "mlp.c_fc.weight", 0.3, d, 4 * d); Normal(b + "mlp.c_fc.bias", 0.1, 4 * d);
                    Normal(b + "mlp.c_proj.weight", 0.1, 4 * d, d); Normal(b + "mlp.c_proj.bias", 0.1, d);
                    tensors[b + "attn.bias"] = (new float[40 * 40], [1, 1, 40, 40]);   // the causal-mask buffer older exports carry
                }
                Gain(p + "ln_f.weight", 1, d); Gain(p + "ln_f.bias", 0, d);
                break;
            }
            case "gpt_neox" or "gpt_neox-sequential":
            {
                const int ff = 80;
                config = new JsonObject
                {
                    ["model_type"] = "gpt_neox", ["architectures"] = new JsonArray("GPTNeoXForCausalLM"), ["hidden_size"] = d,
                    ["num_attention_heads"] = 2, ["num_hidden_layers"] = layers, ["intermediate_size"] = ff, ["vocab_size"] = vocab,
                    ["max_position_embeddings"] = 64, ["rotary_pct"] = 0.25, ["rotary_emb_base"] = 500.0, ["layer_norm_eps"] = 1e-5,
                    ["use_parallel_residual"] = family == "gpt_neox", ["hidden_act"] = "gelu", ["tie_word_embeddings"] = false,
                };
                Normal("gpt_neox.embed_in.weight", 0.5, vocab, d);
                for (int l = 0; l < layers; l++)
                {
                    string b = $"gpt_neox.layers.{l}.";
                    Gain(b + "input_layernorm.weight", 1, d); Gain(b + "input_layernorm.bias", 0, d);
                    Normal(b + "attention.query_key_value.weight", 0.3, 3 * d, d); Normal(b + "attention.query_key_value.bias", 0.1, 3 * d);
                    Normal(b + "attention.dense.weight", 0.2, d, d); Normal(b + "attention.dense.bias", 0.1, d);
                    Gain(b + "post_attention_layernorm.weight", 1, d); Gain(b + "post_attention_layernorm.bias", 0, d);
                    Normal(b + "mlp.dense_h_to_4h.weight", 0.3, ff, d); Normal(b + "mlp.dense_h_to_4h.bias", 0.1, ff);
                    Normal(b + "mlp.dense_4h_to_h.weight", 0.1, d, ff); Normal(b + "mlp.dense_4h_to_h.bias", 0.1, d);
                }
                Gain("gpt_neox.final_layer_norm.weight", 1, d); Gain("gpt_neox.final_layer_norm.bias", 0, d);
                Normal("embed_out.weight", 0.3, vocab, d);
                break;
            }
            case "llama" or "mistral":
            {
                const int h = 4, kvh = 2, hd = 8, ff = 48;
                config = new JsonObject
                {
                    ["model_type"] = "llama", ["architectures"] = new JsonArray("LlamaForCausalLM"), ["hidden_size"] = d,
                    ["intermediate_size"] = ff, ["num_hidden_layers"] = layers, ["num_attention_heads"] = h, ["num_key_value_heads"] = kvh,
                    ["head_dim"] = hd, ["vocab_size"] = vocab, ["max_position_embeddings"] = 64, ["rms_norm_eps"] = 1e-5,
                    ["rope_theta"] = 1000.0, ["hidden_act"] = "silu", ["tie_word_embeddings"] = false, ["rope_scaling"] = null,
                };
                if (family == "mistral") { config["model_type"] = "mistral"; config["sliding_window"] = 4; }
                Normal("model.embed_tokens.weight", 0.5, vocab, d);
                for (int l = 0; l < layers; l++)
                {
                    string b = $"model.layers.{l}.";
                    Gain(b + "input_layernorm.weight", 1, d);
                    Normal(b + "self_attn.q_proj.weight", 0.3, h * hd, d); Normal(b + "self_attn.k_proj.weight", 0.3, kvh * hd, d);
                    Normal(b + "self_attn.v_proj.weight", 0.3, kvh * hd, d); Normal(b + "self_attn.o_proj.weight", 0.2, d, h * hd);
                    Gain(b + "post_attention_layernorm.weight", 1, d);
                    Normal(b + "mlp.gate_proj.weight", 0.3, ff, d); Normal(b + "mlp.up_proj.weight", 0.3, ff, d); Normal(b + "mlp.down_proj.weight", 0.2, d, ff);
                }
                Gain("model.norm.weight", 1, d);
                Normal("lm_head.weight", 0.3, vocab, d);
                break;
            }
            case "gemma2":
            {
                const int h = 4, kvh = 2, hd = 16, ff = 48;   // head_dim 16 != hidden / heads
                config = new JsonObject
                {
                    ["model_type"] = "gemma2", ["architectures"] = new JsonArray("Gemma2ForCausalLM"), ["hidden_size"] = d,
                    ["intermediate_size"] = ff, ["num_hidden_layers"] = layers, ["num_attention_heads"] = h, ["num_key_value_heads"] = kvh,
                    ["head_dim"] = hd, ["vocab_size"] = vocab, ["max_position_embeddings"] = 64, ["rms_norm_eps"] = 1e-6,
                    ["rope_theta"] = 10000.0, ["hidden_activation"] = "gelu_pytorch_tanh", ["query_pre_attn_scalar"] = 24,
                    ["attn_logit_softcapping"] = 2.0, ["final_logit_softcapping"] = 5.0, ["sliding_window"] = 3,
                    ["tie_word_embeddings"] = true, ["attention_bias"] = false,
                };
                Normal("model.embed_tokens.weight", 0.2, vocab, d);
                for (int l = 0; l < layers; l++)
                {
                    string b = $"model.layers.{l}.";
                    Gain(b + "input_layernorm.weight", 0, d);
                    Normal(b + "self_attn.q_proj.weight", 0.3, h * hd, d); Normal(b + "self_attn.k_proj.weight", 0.3, kvh * hd, d);
                    Normal(b + "self_attn.v_proj.weight", 0.3, kvh * hd, d); Normal(b + "self_attn.o_proj.weight", 0.2, d, h * hd);
                    Gain(b + "post_attention_layernorm.weight", 0, d);
                    Gain(b + "pre_feedforward_layernorm.weight", 0, d);
                    Normal(b + "mlp.gate_proj.weight", 0.3, ff, d); Normal(b + "mlp.up_proj.weight", 0.3, ff, d); Normal(b + "mlp.down_proj.weight", 0.2, d, ff);
                    Gain(b + "post_feedforward_layernorm.weight", 0, d);
                }
                Gain("model.norm.weight", 0, d);
                break;
            }
            default: throw new ArgumentException($"unknown family {family}");
        }
        edit?.Invoke(config);
        return new TinyCheckpoint(config, tensors, dtype);
    }

    /// <summary>normal(center, std) values from <paramref name="rng"/> (Box-Muller).</summary>
    private static float[] Values(Random rng, long[] shape, double center, double std)
    {
        var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < values.Length; i++)
        {
            double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
            values[i] = (float)(center + std * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }
        return values;
    }
}
