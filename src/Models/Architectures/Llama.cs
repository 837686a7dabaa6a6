using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Architectures;

/// <summary>The weights of one decoder block, in the order the forward pass uses them.</summary>
public sealed record LlamaBlock(
    Tensor InputNorm,                                   // [d]
    Tensor Wq, Tensor Wk, Tensor Wv, Tensor Wo,         // [h*hd, d], [kvh*hd, d], [kvh*hd, d], [d, h*hd]
    Tensor PostAttentionNorm,                           // [d]
    Tensor WGate, Tensor WUp, Tensor WDown);            // [ff, d], [ff, d], [d, ff]

/// <summary>
/// Llama / Mistral decoder (Touvron et al. 2023), the Hugging Face <c>LlamaForCausalLM</c> convention:
/// pre-norm blocks with RMSNorm, grouped-query attention with rotary position embeddings in the
/// rotate-half layout, a SwiGLU MLP, a final RMSNorm and an unembedding tied or separate.
///
/// <code>
/// x = embed[tokens]                                              hook_embed
/// for each block l:                                              blocks.l.hook_resid_pre
///     x = x + o_proj(attention(rope(q(norm(x))), rope(k(norm(x))), v(norm(x))))   hook_attn_out, hook_resid_mid
///     x = x + down(silu(gate(norm(x))) * up(norm(x)))            hook_mlp_out, hook_resid_post
/// logits = lm_head(norm(x))                                      ln_final.hook_normalized
/// </code>
///
/// Hook values follow TransformerLens: <c>ln_final.hook_normalized</c> is x / rms(x), before the norm's gain.
/// Mistral's sliding_window applies to every layer.
/// </summary>
public sealed class Llama : DecoderModel
{
    private readonly Tensor _embed;          // [vocab, d]
    private readonly LlamaBlock[] _blocks;
    private readonly Tensor _finalNorm;      // [d]
    private readonly Tensor _lmHead;         // [vocab, d]; the same tensor as _embed when tied
    private readonly float[] _invFreq;
    private readonly Scalar _rmsNormEps;

    private Llama(HfConfig config, Device device, ScalarType dtype, IReadOnlyList<Tensor> weights,
                  Tensor embed, LlamaBlock[] blocks, Tensor finalNorm, Tensor lmHead) : base(config, device, dtype, weights)
    {
        _embed = embed; _blocks = blocks; _finalNorm = finalNorm; _lmHead = lmHead;
        _invFreq = RopeInverseFrequencies(config);
        _rmsNormEps = Hold(config.RmsNormEps);
    }

    protected override float[] RotaryInverseFrequencies => _invFreq;
    protected override int? SlidingWindow => Config.SlidingWindow;

    /// <summary>Loads the weights of an HF Llama/Mistral directory, checking every tensor's shape against config.json.</summary>
    public static Llama Load(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        var c = descriptor.Config;
        string config = Path.Combine(descriptor.Directory, "config.json");
        if (c.HeadDim <= 0 || c.HeadDim % 2 != 0)
            throw new ModelLoadException($"{config}: head dimension {c.HeadDim} is not a positive even number, expected one for rotary embeddings");
        if (c.NumKeyValueHeads <= 0 || c.NumHeads % c.NumKeyValueHeads != 0)
            throw new ModelLoadException($"{config}: num_attention_heads {c.NumHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}");
        if (c.HiddenAct != "silu")
            throw new ModelLoadException($"{config}: hidden_act '{c.HiddenAct}' is not supported, expected silu");
        if (c.AttentionBias || c.MlpBias)
            throw new ModelLoadException($"{config}: attention_bias/mlp_bias true is not supported, expected false (Llama and Mistral have no biases)");
        if (c.RopeScaling is { Type: not ("default" or "linear" or "llama3") } scaling)
            throw new ModelLoadException($"{config}: rope_scaling type '{scaling.Type}' is not supported, expected linear or llama3 (or none)");

        long d = c.HiddenSize, hd = c.HeadDim, h = c.NumHeads, kvh = c.NumKeyValueHeads, ff = c.IntermediateSize, vocab = c.VocabSize;
        using var w = new WeightReader(descriptor, device, dtype);
        var embed = w.Read("model.embed_tokens.weight", vocab, d);
        var blocks = new LlamaBlock[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            blocks[l] = new LlamaBlock(
                InputNorm: w.Read(p + "input_layernorm.weight", d),
                Wq: w.Read(p + "self_attn.q_proj.weight", h * hd, d),
                Wk: w.Read(p + "self_attn.k_proj.weight", kvh * hd, d),
                Wv: w.Read(p + "self_attn.v_proj.weight", kvh * hd, d),
                Wo: w.Read(p + "self_attn.o_proj.weight", d, h * hd),
                PostAttentionNorm: w.Read(p + "post_attention_layernorm.weight", d),
                WGate: w.Read(p + "mlp.gate_proj.weight", ff, d),
                WUp: w.Read(p + "mlp.up_proj.weight", ff, d),
                WDown: w.Read(p + "mlp.down_proj.weight", d, ff));
        }
        var finalNorm = w.Read("model.norm.weight", d);
        bool tied = c.TieWordEmbeddings || !w.Contains("lm_head.weight");
        var lmHead = tied ? embed : w.Read("lm_head.weight", vocab, d);
        w.CheckAllUsed("Llama", "LlamaForCausalLM", "rotary_emb.inv_freq");
        return new Llama(c, device, dtype, w.Loaded, embed, blocks, finalNorm, lmHead);
    }

    protected override Tensor Embed(Tensor tokens, HookSink hook)
    {
        var x = _embed.index_select(0, tokens.reshape(-1)).reshape(tokens.shape[0], tokens.shape[1], Config.HiddenSize);
        hook(HookPoints.Embed, x);
        return x;
    }

    /// <summary>One pre-norm decoder block: attention then SwiGLU MLP, each added to the residual stream.</summary>
    protected override Tensor Block(int l, Tensor x, DecoderBatch batch, HookSink hook)
    {
        var w = _blocks[l];
        hook(HookPoints.ResidPre(l), x);

        var attnOut = Attention(Layers.RmsNormalize(x, _rmsNormEps) * w.InputNorm, w, batch);
        hook(HookPoints.AttnOut(l), attnOut);
        x = x.Plus(attnOut);
        hook(HookPoints.ResidMid(l), x);

        var h = Layers.RmsNormalize(x, _rmsNormEps) * w.PostAttentionNorm;
        var mlpOut = F.linear(F.silu(F.linear(h, w.WGate)) * F.linear(h, w.WUp), w.WDown);
        hook(HookPoints.MlpOut(l), mlpOut);
        x = x.Plus(mlpOut);
        hook(HookPoints.ResidPost(l), x);
        return x;
    }

    /// <summary>Causal grouped-query self-attention with rotary embeddings; returns o_proj's output [B, T, d].</summary>
    private Tensor Attention(Tensor x, LlamaBlock w, DecoderBatch batch)
    {
        int h = Config.NumHeads, kvh = Config.NumKeyValueHeads, hd = Config.HeadDim;
        var q = Layers.ApplyRotary(Layers.SplitHeads(F.linear(x, w.Wq), h, hd), batch.Cos!, batch.Sin!);
        var k = Layers.ApplyRotary(Layers.SplitHeads(F.linear(x, w.Wk), kvh, hd), batch.Cos!, batch.Sin!);
        var v = Layers.SplitHeads(F.linear(x, w.Wv), kvh, hd);
        var context = Layers.Attend(q, k, v, batch.WindowAllowed ?? batch.Allowed);   // scale 1/sqrt(head_dim): fused attention's default
        return F.linear(context, w.Wo);
    }

    protected override Tensor FinalNormalize(Tensor x) => Layers.RmsNormalize(x, _rmsNormEps);

    protected override Tensor Unembed(Tensor normalized) => F.linear(normalized * _finalNorm, _lmHead);

    /// <summary>
    /// RoPE inverse frequencies theta^(-2i/hd), i = 0..hd/2-1, with config.json's rope_scaling applied:
    /// "linear" divides them all by factor; "llama3" (Llama 3.1+) divides the low frequencies (wavelength above
    /// original_max_position_embeddings / low_freq_factor) by factor, keeps the high ones, and blends in between.
    /// </summary>
    public static float[] RopeInverseFrequencies(HfConfig config)
    {
        int hd = config.HeadDim;
        var invFreq = new double[hd / 2];
        for (int i = 0; i < invFreq.Length; i++) invFreq[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / hd);
        switch (config.RopeScaling)
        {
            case { Type: "linear", Factor: var factor }:
                for (int i = 0; i < invFreq.Length; i++) invFreq[i] /= factor;
                break;
            case { Type: "llama3" } s:
                double lowFreqWavelen = s.OriginalMaxPositions / s.LowFreqFactor;
                double highFreqWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
                for (int i = 0; i < invFreq.Length; i++)
                {
                    double wavelen = 2 * Math.PI / invFreq[i];
                    if (wavelen > lowFreqWavelen) invFreq[i] /= s.Factor;
                    else if (wavelen >= highFreqWavelen)
                    {
                        double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                        invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
                    }
                }
                break;
        }
        return invFreq.Select(f => (float)f).ToArray();
    }
}
