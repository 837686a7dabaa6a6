using Sweep.Models.Architectures;
using Sweep.Models.Checkpoints;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>The config.json files the families publish (GPT-2 small, Pythia-70m, Gemma-2-2b), read with their keys and defaults.</summary>
public sealed class FamilyConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private HfConfig Read(string json)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), json);
        return HfConfig.Read(_dir);
    }

    [Fact]
    public void Gpt2_small()
    {
        var c = Read("""
            {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": 50256, "eos_token_id": 50256,
             "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": 1024, "n_embd": 768, "n_head": 12, "n_layer": 12,
             "n_positions": 1024, "vocab_size": 50257}
            """);
        Assert.Equal((768, 3072, 12, 12, 12, 50257, 1024, 1e-5, "gelu_new", true, 64, 50256),
            (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKeyValueHeads, c.VocabSize, c.MaxPositions, c.LayerNormEps, c.HiddenAct, c.TieWordEmbeddings, c.HeadDim, c.BosTokenId));
        Assert.Equal(2 + 12 * 5 + 2, ModelFamilies.HookPointsOf(c).Count);   // + logits, log_probs_next
    }

    [Fact]
    public void Pythia_70m()
    {
        var c = Read("""
            {"architectures": ["GPTNeoXForCausalLM"], "bos_token_id": 0, "eos_token_id": 0, "hidden_act": "gelu", "hidden_size": 512,
             "initializer_range": 0.02, "intermediate_size": 2048, "layer_norm_eps": 1e-05, "max_position_embeddings": 2048,
             "model_type": "gpt_neox", "num_attention_heads": 8, "num_hidden_layers": 6, "rotary_emb_base": 10000, "rotary_pct": 0.25,
             "tie_word_embeddings": false, "use_cache": true, "use_parallel_residual": true, "vocab_size": 50304}
            """);
        Assert.Equal((512, 2048, 6, 8, 50304, 0.25, 10000.0, true, false, true), (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.VocabSize, c.RotaryPct, c.RopeTheta, c.UseParallelResidual, c.TieWordEmbeddings, c.AttentionBias));
        Assert.Equal(16, GptNeoX.RotaryDims(c));
        Assert.Equal(2 + 6 * 4 + 2, ModelFamilies.HookPointsOf(c).Count);   // no hook_resid_mid; + logits, log_probs_next
    }

    [Fact]
    public void Gemma2_2b_and_its_defaults()
    {
        var c = Read("""
            {"architectures": ["Gemma2ForCausalLM"], "attn_logit_softcapping": 50.0, "bos_token_id": 2, "eos_token_id": 1,
             "final_logit_softcapping": 30.0, "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2304,
             "intermediate_size": 9216, "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 8,
             "num_hidden_layers": 26, "num_key_value_heads": 4, "pad_token_id": 0, "query_pre_attn_scalar": 256,
             "rms_norm_eps": 1e-06, "rope_theta": 10000.0, "sliding_window": 4096, "vocab_size": 256000}
            """);
        Assert.Equal((2304, 9216, 26, 8, 4, 256, 256.0, 50.0, 30.0, 4096, "gelu_pytorch_tanh", true),
            (c.HiddenSize, c.IntermediateSize, c.NumLayers, c.NumHeads, c.NumKeyValueHeads, c.HeadDim, c.QueryPreAttnScalar, c.AttnLogitSoftcapping, c.FinalLogitSoftcapping, c.SlidingWindow, c.HiddenAct, c.TieWordEmbeddings));

        var nulls = Read("""{"model_type": "gemma2", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "vocab_size": 4, "attn_logit_softcapping": null, "sliding_window": null}""");
        Assert.Equal((null, 30.0, null, 256), (nulls.AttnLogitSoftcapping, nulls.FinalLogitSoftcapping, nulls.SlidingWindow, nulls.HeadDim));

        var e = Assert.Throws<ModelLoadException>(() => Read("""{"model_type": "gemma2", "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 2, "num_attention_heads": 1, "vocab_size": 4, "layer_types": ["sliding_attention"]}"""));
        Assert.EndsWith("layer_types lists 1 layers, expected num_hidden_layers = 2", e.Message);
    }
}
