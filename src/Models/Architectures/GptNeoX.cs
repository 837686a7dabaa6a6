using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Architectures;

/// <summary>The weights of one GPT-NeoX layer (torch Linear layout [out, in]).</summary>
public sealed record GptNeoXBlock(
    Tensor Ln1Weight, Tensor Ln1Bias,                   // input_layernorm [d]
    Tensor QkvWeight, Tensor QkvBias,                   // query_key_value [3d, d], [3d]: per head [q, k, v]
    Tensor DenseWeight, Tensor DenseBias,               // attention.dense [d, d], [d]
    Tensor Ln2Weight, Tensor Ln2Bias,                   // post_attention_layernorm [d]
    Tensor UpWeight, Tensor UpBias,                     // dense_h_to_4h [ff, d], [ff]
    Tensor DownWeight, Tensor DownBias);                // dense_4h_to_h [d, ff], [d]

/// <summary>
/// GPT-NeoX / Pythia (Black et al. 2022; Biderman et al. 2023), the Hugging Face <c>GPTNeoXForCausalLM</c>
/// convention: LayerNorms with bias, a fused query_key_value projection laid out per head as [q, k, v], rotary
/// embeddings on the first rotary_pct of each head's dimensions, an exact-GELU MLP and a separate embed_out.
///
/// <code>
/// x = embed_in[tokens]                                           hook_embed
/// for each layer l:                                              blocks.l.hook_resid_pre
///     a = dense(attention(query_key_value(input_layernorm(x))))  hook_attn_out
///     use_parallel_residual:  x = x + a + mlp(post_attention_layernorm(x))
///     otherwise:              x = x + a (hook_resid_mid);  x = x + mlp(post_attention_layernorm(x))
///                                                            hook_mlp_out, hook_resid_post
/// logits = embed_out(final_layer_norm(x))                        ln_final.hook_normalized
/// </code>
/// With the parallel residual there is no state between attention and MLP, so (as in TransformerLens)
/// <c>hook_resid_mid</c> does not exist for such models.
/// </summary>
public sealed class GptNeoX : DecoderModel
{
    private readonly Tensor _embed, _lnFWeight, _lnFBias, _embedOut;
    private readonly GptNeoXBlock[] _blocks;
    private readonly float[] _invFreq;
    private readonly double _layerNormEps;

    private GptNeoX(HfConfig config, Device device, ScalarType dtype, IReadOnlyList<Tensor> weights, Tensor embed,
                    GptNeoXBlock[] blocks, Tensor lnFWeight, Tensor lnFBias, Tensor embedOut) : base(config, device, dtype, weights)
    {
        _embed = embed; _blocks = blocks; _lnFWeight = lnFWeight; _lnFBias = lnFBias; _embedOut = embedOut;
        _invFreq = Layers.RotaryInverseFrequencies(config.RopeTheta, RotaryDims(config));
        _layerNormEps = config.LayerNormEps;   // attention's scale, 1/sqrt(head dim), is fused attention's default
    }

    /// <summary>int(head_size * rotary_pct), as transformers computes it.</summary>
    public static int RotaryDims(HfConfig c) => (int)(c.HiddenSize / c.NumHeads * c.RotaryPct);

    protected override float[] RotaryInverseFrequencies => _invFreq;

    public static GptNeoX Load(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        var c = descriptor.Config;
        string config = Path.Combine(descriptor.Directory, "config.json");
        if (c.HiddenAct != "gelu")
            throw new ModelLoadException($"{config}: hidden_act '{c.HiddenAct}' is not supported, expected gelu");
        if (!c.AttentionBias)
            throw new ModelLoadException($"{config}: attention_bias false is not supported, expected true (GPT-NeoX as published)");
        if (c.HiddenSize % c.NumHeads != 0)
            throw new ModelLoadException($"{config}: hidden_size {c.HiddenSize} is not a multiple of num_attention_heads {c.NumHeads}");
        if (RotaryDims(c) is var rot && (rot < 2 || rot % 2 != 0))
            throw new ModelLoadException($"{config}: rotary_pct {c.RotaryPct} gives {rot} rotary dimensions per head, expected a positive even number");

        long d = c.HiddenSize, ff = c.IntermediateSize, vocab = c.VocabSize;
        using var w = new WeightReader(descriptor, device, dtype);
        var embed = w.Read("gpt_neox.embed_in.weight", vocab, d);
        var blocks = new GptNeoXBlock[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"gpt_neox.layers.{l}.";
            blocks[l] = new GptNeoXBlock(
                w.Read(p + "input_layernorm.weight", d), w.Read(p + "input_layernorm.bias", d),
                w.Read(p + "attention.query_key_value.weight", 3 * d, d), w.Read(p + "attention.query_key_value.bias", 3 * d),
                w.Read(p + "attention.dense.weight", d, d), w.Read(p + "attention.dense.bias", d),
                w.Read(p + "post_attention_layernorm.weight", d), w.Read(p + "post_attention_layernorm.bias", d),
                w.Read(p + "mlp.dense_h_to_4h.weight", ff, d), w.Read(p + "mlp.dense_h_to_4h.bias", ff),
                w.Read(p + "mlp.dense_4h_to_h.weight", d, ff), w.Read(p + "mlp.dense_4h_to_h.bias", d));
        }
        var lnFWeight = w.Read("gpt_neox.final_layer_norm.weight", d);
        var lnFBias = w.Read("gpt_neox.final_layer_norm.bias", d);
        var embedOut = c.TieWordEmbeddings && !w.Contains("embed_out.weight") ? embed : w.Read("embed_out.weight", vocab, d);
        // attention.bias / masked_bias / rotary_emb.inv_freq: buffers older transformers saved.
        w.CheckAllUsed("GPT-NeoX", "GPTNeoXForCausalLM", "attention.bias", "attention.masked_bias", "rotary_emb.inv_freq");
        return new GptNeoX(c, device, dtype, w.Loaded, embed, blocks, lnFWeight, lnFBias, embedOut);
    }

    protected override Tensor Embed(Tensor tokens, HookSink hook)
    {
        var x = _embed.index_select(0, tokens.reshape(-1)).reshape(tokens.shape[0], tokens.shape[1], Config.HiddenSize);
        hook(HookPoints.Embed, x);
        return x;
    }

    protected override Tensor Block(int l, Tensor x, DecoderBatch batch, HookSink hook)
    {
        var w = _blocks[l];
        hook(HookPoints.ResidPre(l), x);

        var attnOut = F.linear(Attention(Layers.LayerNorm(x, w.Ln1Weight, w.Ln1Bias, _layerNormEps), w, batch), w.DenseWeight, w.DenseBias);
        hook(HookPoints.AttnOut(l), attnOut);
        Tensor mlpIn = x;
        if (!Config.UseParallelResidual)
        {
            x = x.Plus(attnOut);
            hook(HookPoints.ResidMid(l), x);
            mlpIn = x;
        }

        var h = Layers.LayerNorm(mlpIn, w.Ln2Weight, w.Ln2Bias, _layerNormEps);
        var mlpOut = F.linear(Layers.Gelu(F.linear(h, w.UpWeight, w.UpBias)), w.DownWeight, w.DownBias);
        hook(HookPoints.MlpOut(l), mlpOut);
        x = Config.UseParallelResidual ? x.Plus(attnOut).Plus(mlpOut) : x.Plus(mlpOut);
        hook(HookPoints.ResidPost(l), x);
        return x;
    }

    /// <summary>Causal attention on the fused projection: per head hd values of q, then k, then v; partial RoPE on q and k.</summary>
    private Tensor Attention(Tensor x, GptNeoXBlock w, DecoderBatch batch)
    {
        long b = x.shape[0], t = x.shape[1], h = Config.NumHeads, hd = Config.HiddenSize / h;
        var qkv = F.linear(x, w.QkvWeight, w.QkvBias).view(b, t, h, 3 * hd).transpose(1, 2);   // [B, h, T, 3hd]
        var q = Layers.ApplyRotary(qkv.narrow(-1, 0, hd), batch.Cos!, batch.Sin!);
        var k = Layers.ApplyRotary(qkv.narrow(-1, hd, hd), batch.Cos!, batch.Sin!);
        var v = qkv.narrow(-1, 2 * hd, hd);
        return Layers.Attend(q, k, v, batch.Allowed);
    }

    protected override Tensor FinalNormalize(Tensor x) => Layers.LayerNormalize(x, _layerNormEps);

    protected override Tensor Unembed(Tensor normalized) => F.linear((normalized * _lnFWeight).Plus(_lnFBias), _embedOut);
}
