using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Architectures;

/// <summary>The weights of one Gemma-2 layer. Norm weights w are applied as (1 + w).</summary>
public sealed record Gemma2Block(
    Tensor InputNorm, Tensor Wq, Tensor Wk, Tensor Wv, Tensor Wo, Tensor PostAttentionNorm,    // [d], [h*hd, d], [kvh*hd, d] x2, [d, h*hd], [d]
    Tensor PreFeedforwardNorm, Tensor WGate, Tensor WUp, Tensor WDown, Tensor PostFeedforwardNorm);

/// <summary>
/// Gemma-2 (Gemma Team 2024), the Hugging Face <c>Gemma2ForCausalLM</c> convention: the embedding scaled by
/// sqrt(hidden_size) in the model dtype, RMSNorms with gain (1 + w) both before and after attention and MLP,
/// grouped-query attention scaled by query_pre_attn_scalar^-1/2 with soft-capped scores, sliding-window attention
/// on the even layers (0, 2, ...; or as config.json's layer_types says), a GeGLU MLP with tanh GELU, the tied
/// unembedding and soft-capped final logits.
///
/// <code>
/// x = embed[tokens] * sqrt(d)                                     hook_embed (scaled, as TransformerLens)
/// for each layer l:                                               blocks.l.hook_resid_pre
///     x = x + post_attention_norm(o_proj(attention(input_norm(x)))) hook_attn_out, hook_resid_mid
///     x = x + post_feedforward_norm(down(gelu_tanh(gate(pre_feedforward_norm(x))) * up(..)))   hook_mlp_out, hook_resid_post
/// logits = cap * tanh(lm_head(norm(x)) / cap)                     ln_final.hook_normalized
/// </code>
/// </summary>
public sealed class Gemma2 : DecoderModel
{
    private readonly Tensor _embed, _finalNorm, _lmHead;
    private readonly Gemma2Block[] _blocks;
    private readonly float[] _invFreq;
    private readonly Scalar _rmsNormEps, _attentionScale;
    private readonly Scalar? _attentionSoftCap, _finalSoftCap;

    private Gemma2(HfConfig config, Device device, ScalarType dtype, IReadOnlyList<Tensor> weights, Tensor embed,
                   Gemma2Block[] blocks, Tensor finalNorm, Tensor lmHead) : base(config, device, dtype, weights)
    {
        _embed = embed; _blocks = blocks; _finalNorm = finalNorm; _lmHead = lmHead;
        _invFreq = Layers.RotaryInverseFrequencies(config.RopeTheta, config.HeadDim);
        _rmsNormEps = Hold(config.RmsNormEps);
        _attentionScale = Hold(1.0 / Math.Sqrt(config.QueryPreAttnScalar ?? config.HeadDim));
        _attentionSoftCap = config.AttnLogitSoftcapping is double attentionCap ? Hold(attentionCap) : null;
        _finalSoftCap = config.FinalLogitSoftcapping is double finalCap ? Hold(finalCap) : null;
    }

    protected override float[] RotaryInverseFrequencies => _invFreq;
    protected override int? SlidingWindow => Config.SlidingWindow;

    /// <summary>Whether layer <paramref name="l"/> attends through the sliding window (HF Gemma-2: the even layers).</summary>
    public static bool IsSliding(HfConfig c, int l) =>
        c.SlidingWindow is not null && (c.LayerTypes is { } types ? types[l] == "sliding_attention" : l % 2 == 0);

    public static Gemma2 Load(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        var c = descriptor.Config;
        string config = Path.Combine(descriptor.Directory, "config.json");
        if (c.HiddenAct != "gelu_pytorch_tanh")
            throw new ModelLoadException($"{config}: hidden_activation '{c.HiddenAct}' is not supported, expected gelu_pytorch_tanh");
        if (c.AttentionBias)
            throw new ModelLoadException($"{config}: attention_bias true is not supported, expected false (Gemma-2 has no biases)");
        if (c.HeadDim <= 0 || c.HeadDim % 2 != 0)
            throw new ModelLoadException($"{config}: head_dim {c.HeadDim} is not a positive even number, expected one for rotary embeddings");
        if (c.NumKeyValueHeads <= 0 || c.NumHeads % c.NumKeyValueHeads != 0)
            throw new ModelLoadException($"{config}: num_attention_heads {c.NumHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}");

        long d = c.HiddenSize, hd = c.HeadDim, h = c.NumHeads, kvh = c.NumKeyValueHeads, ff = c.IntermediateSize, vocab = c.VocabSize;
        using var w = new WeightReader(descriptor, device, dtype);
        var embed = w.Read("model.embed_tokens.weight", vocab, d);
        var blocks = new Gemma2Block[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            blocks[l] = new Gemma2Block(
                InputNorm: w.Read(p + "input_layernorm.weight", d),
                Wq: w.Read(p + "self_attn.q_proj.weight", h * hd, d),
                Wk: w.Read(p + "self_attn.k_proj.weight", kvh * hd, d),
                Wv: w.Read(p + "self_attn.v_proj.weight", kvh * hd, d),
                Wo: w.Read(p + "self_attn.o_proj.weight", d, h * hd),
                PostAttentionNorm: w.Read(p + "post_attention_layernorm.weight", d),
                PreFeedforwardNorm: w.Read(p + "pre_feedforward_layernorm.weight", d),
                WGate: w.Read(p + "mlp.gate_proj.weight", ff, d),
                WUp: w.Read(p + "mlp.up_proj.weight", ff, d),
                WDown: w.Read(p + "mlp.down_proj.weight", d, ff),
                PostFeedforwardNorm: w.Read(p + "post_feedforward_layernorm.weight", d));
        }
        var finalNorm = w.Read("model.norm.weight", d);
        var lmHead = c.TieWordEmbeddings || !w.Contains("lm_head.weight") ? embed : w.Read("lm_head.weight", vocab, d);
        if (c.TieWordEmbeddings) w.Ignore("lm_head.weight");
        w.CheckAllUsed("Gemma-2", "Gemma2ForCausalLM", "rotary_emb.inv_freq");
        return new Gemma2(c, device, dtype, w.Loaded, embed, blocks, finalNorm, lmHead);
    }

    protected override Tensor Embed(Tensor tokens, HookSink hook)
    {
        var x = _embed.index_select(0, tokens.reshape(-1)).reshape(tokens.shape[0], tokens.shape[1], Config.HiddenSize);
        // transformers multiplies by sqrt(hidden_size) rounded to the model dtype first, so do the same.
        using var normalizer = torch.tensor(Math.Sqrt(Config.HiddenSize), Dtype, Device);
        x = x * normalizer;
        hook(HookPoints.Embed, x);
        return x;
    }

    protected override Tensor Block(int l, Tensor x, DecoderBatch batch, HookSink hook)
    {
        var w = _blocks[l];
        hook(HookPoints.ResidPre(l), x);

        var blocked = IsSliding(Config, l) ? batch.WindowBlocked ?? batch.Blocked : batch.Blocked;   // no window tensor: window >= T
        var attnOut = Norm(Attention(Norm(x, w.InputNorm), w, blocked, batch), w.PostAttentionNorm);
        hook(HookPoints.AttnOut(l), attnOut);
        x = x.Plus(attnOut);
        hook(HookPoints.ResidMid(l), x);

        var h = Norm(x, w.PreFeedforwardNorm);
        var mlpOut = Norm(F.linear(Layers.GeluTanh(F.linear(h, w.WGate)) * F.linear(h, w.WUp), w.WDown), w.PostFeedforwardNorm);
        hook(HookPoints.MlpOut(l), mlpOut);
        x = x.Plus(mlpOut);
        hook(HookPoints.ResidPost(l), x);
        return x;
    }

    private Tensor Attention(Tensor x, Gemma2Block w, Tensor blocked, DecoderBatch batch)
    {
        int h = Config.NumHeads, kvh = Config.NumKeyValueHeads, hd = Config.HeadDim;
        var q = Layers.ApplyRotary(Layers.SplitHeads(F.linear(x, w.Wq), h, hd), batch.Cos!, batch.Sin!);
        var k = Layers.ApplyRotary(Layers.SplitHeads(F.linear(x, w.Wk), kvh, hd), batch.Cos!, batch.Sin!);
        var v = Layers.SplitHeads(F.linear(x, w.Wv), kvh, hd);
        return F.linear(Layers.Attend(q, k, v, blocked, _attentionScale, _attentionSoftCap), w.Wo);
    }

    /// <summary>Gemma's RMSNorm: x / rms(x) * (1 + w), the gain applied in float32 before casting back.</summary>
    private Tensor Norm(Tensor x, Tensor weight)
    {
        var normalized = Layers.RmsNormalize(x.to(ScalarType.Float32), _rmsNormEps);
        return (normalized * weight.to(ScalarType.Float32).Plus(HeldScalars.One)).to(x.dtype);
    }

    protected override Tensor FinalNormalize(Tensor x) => Layers.RmsNormalize(x, _rmsNormEps);

    protected override Tensor Unembed(Tensor normalized)
    {
        var logits = F.linear((normalized.to(ScalarType.Float32) * _finalNorm.to(ScalarType.Float32).Plus(HeldScalars.One)).to(Dtype), _lmHead);
        return _finalSoftCap is not null ? Layers.SoftCap(logits.to(ScalarType.Float32), _finalSoftCap) : logits;
    }
}
