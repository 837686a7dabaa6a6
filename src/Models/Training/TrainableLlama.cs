using Sweep.Models.Architectures;
using Sweep.Models.Demo;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Training;

/// <summary>
/// The trainable twin of <see cref="Llama"/> (HF <c>LlamaForCausalLM</c>): the same pass, written from the same
/// <see cref="Layers"/> pieces, over parameters that carry gradients.
///
/// <code>
/// x = embed[tokens]
/// for each block l:
///     h = rmsnorm(x) * input_layernorm
///     x = x + o_proj(attention(rope(q_proj h), rope(k_proj h), v_proj h))      causal, grouped-query
///     h = rmsnorm(x) * post_attention_layernorm
///     x = x + down_proj(silu(gate_proj h) * up_proj h)
/// logits = (rmsnorm(x) * norm) embed^T                                          tied unembedding (or lm_head)
/// </code>
/// Saved under the names <see cref="Llama.Load"/> reads (<c>model.layers.{l}.self_attn.q_proj.weight</c>, ...).
/// </summary>
public sealed class TrainableLlama : TrainableDecoder
{
    private sealed record Block(Tensor InputNorm, Tensor Wq, Tensor Wk, Tensor Wv, Tensor Wo,
                                Tensor PostAttentionNorm, Tensor WGate, Tensor WUp, Tensor WDown);

    private readonly TinyLlamaShape _shape;
    private readonly int _headDim;
    private readonly Tensor _embed, _finalNorm, _lmHead;
    private readonly Block[] _blocks;
    private readonly float[] _invFreq;
    private readonly Scalar _eps, _attentionScale;

    public TrainableLlama(TinyLlamaShape shape, ulong seed) : base(seed)
    {
        _headDim = shape.HeadDim ?? shape.HiddenSize / shape.NumHeads;
        if ((shape.HeadDim is null && shape.HiddenSize % shape.NumHeads != 0) || shape.NumHeads % shape.NumKeyValueHeads != 0 || _headDim <= 0 || _headDim % 2 != 0)
            throw new ArgumentException($"shape {shape}: hidden_size must be a multiple of num_heads (or head_dim given), num_heads of num_key_value_heads, and the head dimension even");
        _shape = shape;
        long d = shape.HiddenSize, q = shape.NumHeads * _headDim, kv = shape.NumKeyValueHeads * _headDim, ff = shape.IntermediateSize;
        double residualStd = InitStd / Math.Sqrt(2.0 * shape.NumLayers);

        _embed = Normal("model.embed_tokens.weight", InitStd, shape.VocabSize, d);
        _blocks = new Block[shape.NumLayers];
        for (int l = 0; l < shape.NumLayers; l++)
        {
            string p = $"model.layers.{l}.";
            _blocks[l] = new Block(
                InputNorm: Constant(p + "input_layernorm.weight", 1f, d),
                Wq: Normal(p + "self_attn.q_proj.weight", InitStd, q, d),
                Wk: Normal(p + "self_attn.k_proj.weight", InitStd, kv, d),
                Wv: Normal(p + "self_attn.v_proj.weight", InitStd, kv, d),
                Wo: Normal(p + "self_attn.o_proj.weight", residualStd, d, q),
                PostAttentionNorm: Constant(p + "post_attention_layernorm.weight", 1f, d),
                WGate: Normal(p + "mlp.gate_proj.weight", InitStd, ff, d),
                WUp: Normal(p + "mlp.up_proj.weight", InitStd, ff, d),
                WDown: Normal(p + "mlp.down_proj.weight", residualStd, d, ff));
        }
        _finalNorm = Constant("model.norm.weight", 1f, d);
        _lmHead = shape.TieWordEmbeddings ? _embed : Normal("lm_head.weight", InitStd, shape.VocabSize, d);
        _invFreq = Layers.RotaryInverseFrequencies(shape.RopeTheta, _headDim);
        _eps = Hold(shape.RmsNormEps);
        _attentionScale = Hold(1.0 / Math.Sqrt(_headDim));
    }

    public override int VocabSize => _shape.VocabSize;
    public override int MaxPositions => _shape.MaxPositions;

    public override byte[] ConfigJson() => TinyLlamaCheckpoint.ConfigJson(_shape);

    public override Tensor Logits(Tensor tokens)
    {
        CheckTokens(tokens);
        long b = tokens.shape[0], t = tokens.shape[1];
        var x = _embed.index_select(0, tokens.reshape(-1)).reshape(b, t, _shape.HiddenSize);
        var (cos, sin) = Layers.RotaryTables(_invFreq, t, ScalarType.Float32, torch.CPU);
        var mask = CausalMask(t);
        foreach (var w in _blocks)
        {
            var h = Layers.RmsNormalize(x, _eps) * w.InputNorm;
            var q = Layers.ApplyRotary(Layers.SplitHeads(F.linear(h, w.Wq), _shape.NumHeads, _headDim), cos, sin);
            var k = Layers.ApplyRotary(Layers.SplitHeads(F.linear(h, w.Wk), _shape.NumKeyValueHeads, _headDim), cos, sin);
            var v = Layers.SplitHeads(F.linear(h, w.Wv), _shape.NumKeyValueHeads, _headDim);
            x = x.Plus(F.linear(Layers.Attend(q, k, v, mask, _attentionScale), w.Wo));

            h = Layers.RmsNormalize(x, _eps) * w.PostAttentionNorm;
            x = x.Plus(F.linear(F.silu(F.linear(h, w.WGate)) * F.linear(h, w.WUp), w.WDown));
        }
        return F.linear(Layers.RmsNormalize(x, _eps) * _finalNorm, _lmHead);
    }
}
