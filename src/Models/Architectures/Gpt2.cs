using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Architectures;

/// <summary>The weights of one GPT-2 block. Conv1D weights are stored [in, out]: y = x W + b.</summary>
public sealed record Gpt2Block(
    Tensor Ln1Weight, Tensor Ln1Bias,                   // [d]
    Tensor AttnWeight, Tensor AttnBias,                 // c_attn [d, 3d], [3d]: q, k, v side by side
    Tensor AttnProjWeight, Tensor AttnProjBias,         // c_proj [d, d], [d]
    Tensor Ln2Weight, Tensor Ln2Bias,
    Tensor FcWeight, Tensor FcBias,                     // c_fc [d, ff], [ff]
    Tensor MlpProjWeight, Tensor MlpProjBias);          // c_proj [ff, d], [d]

/// <summary>
/// GPT-2 (Radford et al. 2019), the Hugging Face <c>GPT2LMHeadModel</c> convention: learned absolute positions,
/// pre-norm blocks with LayerNorm, multi-head attention, a gelu_new MLP, a final LayerNorm and the unembedding
/// tied to the token embedding.
///
/// <code>
/// x = wte[tokens] + wpe[positions]                               hook_embed (wte[tokens] only, as TransformerLens)
/// for each block l:                                              blocks.l.hook_resid_pre
///     x = x + c_proj(attention(c_attn(ln_1(x))))                 hook_attn_out, hook_resid_mid
///     x = x + c_proj(gelu_new(c_fc(ln_2(x))))                    hook_mlp_out, hook_resid_post
/// logits = ln_f(x) wte^T                                         ln_final.hook_normalized
/// </code>
/// Names are read with or without the <c>transformer.</c> prefix (GPT2LMHeadModel vs GPT2Model checkpoints).
/// </summary>
public sealed class Gpt2 : DecoderModel
{
    private readonly Tensor _wte, _wpe, _lnFWeight, _lnFBias, _lmHead;
    private readonly Gpt2Block[] _blocks;
    private readonly double _layerNormEps;

    private Gpt2(HfConfig config, Device device, ScalarType dtype, IReadOnlyList<Tensor> weights, Tensor wte, Tensor wpe,
                 Gpt2Block[] blocks, Tensor lnFWeight, Tensor lnFBias, Tensor lmHead) : base(config, device, dtype, weights)
    {
        _wte = wte; _wpe = wpe; _blocks = blocks; _lnFWeight = lnFWeight; _lnFBias = lnFBias; _lmHead = lmHead;
        _layerNormEps = config.LayerNormEps;   // attention's scale, 1/sqrt(head dim), is fused attention's default
    }

    public static Gpt2 Load(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        var c = descriptor.Config;
        string config = Path.Combine(descriptor.Directory, "config.json");
        if (c.HiddenAct != "gelu_new")
            throw new ModelLoadException($"{config}: activation_function '{c.HiddenAct}' is not supported, expected gelu_new");
        if (c.HiddenSize % c.NumHeads != 0)
            throw new ModelLoadException($"{config}: n_embd {c.HiddenSize} is not a multiple of n_head {c.NumHeads}");

        long d = c.HiddenSize, ff = c.IntermediateSize, vocab = c.VocabSize;
        using var w = new WeightReader(descriptor, device, dtype);
        w.DetectPrefix("transformer.", "wte.weight");
        var wte = w.Read("wte.weight", vocab, d);
        var wpe = w.Read("wpe.weight", c.MaxPositions, d);
        var blocks = new Gpt2Block[c.NumLayers];
        for (int l = 0; l < c.NumLayers; l++)
        {
            string p = $"h.{l}.";
            blocks[l] = new Gpt2Block(
                w.Read(p + "ln_1.weight", d), w.Read(p + "ln_1.bias", d),
                w.Read(p + "attn.c_attn.weight", d, 3 * d), w.Read(p + "attn.c_attn.bias", 3 * d),
                w.Read(p + "attn.c_proj.weight", d, d), w.Read(p + "attn.c_proj.bias", d),
                w.Read(p + "ln_2.weight", d), w.Read(p + "ln_2.bias", d),
                w.Read(p + "mlp.c_fc.weight", d, ff), w.Read(p + "mlp.c_fc.bias", ff),
                w.Read(p + "mlp.c_proj.weight", ff, d), w.Read(p + "mlp.c_proj.bias", d));
        }
        var lnFWeight = w.Read("ln_f.weight", d);
        var lnFBias = w.Read("ln_f.bias", d);
        // GPT2LMHeadModel ties lm_head to wte; some exports still write the copy.
        var lmHead = !c.TieWordEmbeddings && w.ContainsExact("lm_head.weight") ? w.ReadExact("lm_head.weight", vocab, d) : wte;
        if (c.TieWordEmbeddings) w.Ignore("lm_head.weight");
        // attn.bias / attn.masked_bias: the causal-mask buffers older transformers saved.
        w.CheckAllUsed("GPT-2", "GPT2LMHeadModel", "attn.bias", "attn.masked_bias");
        return new Gpt2(c, device, dtype, w.Loaded, wte, wpe, blocks, lnFWeight, lnFBias, lmHead);
    }

    protected override Tensor Embed(Tensor tokens, HookSink hook)
    {
        long b = tokens.shape[0], t = tokens.shape[1];
        if (t > Config.MaxPositions)
            throw new ArgumentException($"sequence of {t} tokens is longer than n_positions {Config.MaxPositions}");
        var embed = _wte.index_select(0, tokens.reshape(-1)).reshape(b, t, Config.HiddenSize);
        hook(HookPoints.Embed, embed);
        return embed.Plus(_wpe.narrow(0, 0, t).unsqueeze(0));
    }

    protected override Tensor Block(int l, Tensor x, DecoderBatch batch, HookSink hook)
    {
        var w = _blocks[l];
        hook(HookPoints.ResidPre(l), x);

        var attnOut = Conv1D(Attention(Layers.LayerNorm(x, w.Ln1Weight, w.Ln1Bias, _layerNormEps), w, batch), w.AttnProjWeight, w.AttnProjBias);
        hook(HookPoints.AttnOut(l), attnOut);
        x = x.Plus(attnOut);
        hook(HookPoints.ResidMid(l), x);

        var h = Layers.LayerNorm(x, w.Ln2Weight, w.Ln2Bias, _layerNormEps);
        var mlpOut = Conv1D(Layers.GeluTanh(Conv1D(h, w.FcWeight, w.FcBias)), w.MlpProjWeight, w.MlpProjBias);
        hook(HookPoints.MlpOut(l), mlpOut);
        x = x.Plus(mlpOut);
        hook(HookPoints.ResidPost(l), x);
        return x;
    }

    /// <summary>Causal multi-head attention on c_attn's q, k, v (each d wide, heads contiguous); returns the heads' concatenation.</summary>
    private Tensor Attention(Tensor x, Gpt2Block w, DecoderBatch batch)
    {
        long d = Config.HiddenSize, h = Config.NumHeads, hd = d / h;
        var qkv = Conv1D(x, w.AttnWeight, w.AttnBias);
        var q = Layers.SplitHeads(qkv.narrow(-1, 0, d), h, hd);
        var k = Layers.SplitHeads(qkv.narrow(-1, d, d), h, hd);
        var v = Layers.SplitHeads(qkv.narrow(-1, 2 * d, d), h, hd);
        return Layers.Attend(q, k, v, batch.Allowed);
    }

    /// <summary>x W + b as one fused GEMM (addmm) over the batch's rows.</summary>
    private static Tensor Conv1D(Tensor x, Tensor weight, Tensor bias)
    {
        var rows = x.reshape(-1, x.shape[^1]);
        return torch.addmm(bias, rows, weight, 1f, 1f).view(x.shape[0], x.shape[1], weight.shape[1]);
    }

    protected override Tensor FinalNormalize(Tensor x) => Layers.LayerNormalize(x, _layerNormEps);

    protected override Tensor Unembed(Tensor normalized) =>
        TorchSharp.torch.nn.functional.linear((normalized * _lnFWeight).Plus(_lnFBias), _lmHead);
}
