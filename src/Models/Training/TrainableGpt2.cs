using System.Text.Json;
using Sweep.Models.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training;

/// <summary>The sizes of a GPT-2 (<c>GPT2Config</c>'s keys); the MLP is 4 x n_embd wide, as in GPT-2.</summary>
public sealed record Gpt2Shape
{
    public required int VocabSize { get; init; }
    public int HiddenSize { get; init; } = 64;        // n_embd
    public int NumLayers { get; init; } = 2;          // n_layer
    public int NumHeads { get; init; } = 4;           // n_head
    public int MaxPositions { get; init; } = 256;     // n_positions
    public double LayerNormEps { get; init; } = 1e-5;
    public int? BosTokenId { get; init; }
    public int? EosTokenId { get; init; }
}

/// <summary>
/// The trainable twin of <see cref="Gpt2"/> (HF <c>GPT2LMHeadModel</c>): the same pass, written from the same
/// <see cref="Layers"/> pieces, over parameters that carry gradients.
///
/// <code>
/// x = wte[tokens] + wpe[positions]
/// for each block l:
///     x = x + c_proj(attention(c_attn(ln_1(x))))       q, k, v side by side in c_attn; causal
///     x = x + c_proj(gelu_new(c_fc(ln_2(x))))
/// logits = ln_f(x) wte^T                               tied unembedding
/// </code>
/// Conv1D weights are stored [in, out] (y = x W + b), under the names <see cref="Gpt2.Load"/> reads
/// (<c>h.{l}.attn.c_attn.weight</c>, ...; no <c>transformer.</c> prefix, as GPT2Model saves them).
/// </summary>
public sealed class TrainableGpt2 : TrainableDecoder
{
    private sealed record Block(Tensor Ln1Weight, Tensor Ln1Bias, Tensor AttnWeight, Tensor AttnBias,
                                Tensor AttnProjWeight, Tensor AttnProjBias, Tensor Ln2Weight, Tensor Ln2Bias,
                                Tensor FcWeight, Tensor FcBias, Tensor MlpProjWeight, Tensor MlpProjBias);

    private readonly Gpt2Shape _shape;
    private readonly Tensor _wte, _wpe, _lnFWeight, _lnFBias;
    private readonly Block[] _blocks;
    private readonly Scalar _eps, _attentionScale;

    public TrainableGpt2(Gpt2Shape shape, ulong seed) : base(seed)
    {
        if (shape.HiddenSize % shape.NumHeads != 0)
            throw new ArgumentException($"shape {shape}: n_embd must be a multiple of n_head");
        _shape = shape;
        long d = shape.HiddenSize, ff = 4L * shape.HiddenSize;
        double residualStd = InitStd / Math.Sqrt(2.0 * shape.NumLayers);

        _wte = Normal("wte.weight", InitStd, shape.VocabSize, d);
        _wpe = Normal("wpe.weight", InitStd / 2, shape.MaxPositions, d);
        _blocks = new Block[shape.NumLayers];
        for (int l = 0; l < shape.NumLayers; l++)
        {
            string p = $"h.{l}.";
            _blocks[l] = new Block(
                Constant(p + "ln_1.weight", 1f, d), Constant(p + "ln_1.bias", 0f, d),
                Normal(p + "attn.c_attn.weight", InitStd, d, 3 * d), Constant(p + "attn.c_attn.bias", 0f, 3 * d),
                Normal(p + "attn.c_proj.weight", residualStd, d, d), Constant(p + "attn.c_proj.bias", 0f, d),
                Constant(p + "ln_2.weight", 1f, d), Constant(p + "ln_2.bias", 0f, d),
                Normal(p + "mlp.c_fc.weight", InitStd, d, ff), Constant(p + "mlp.c_fc.bias", 0f, ff),
                Normal(p + "mlp.c_proj.weight", residualStd, ff, d), Constant(p + "mlp.c_proj.bias", 0f, d));
        }
        _lnFWeight = Constant("ln_f.weight", 1f, d);
        _lnFBias = Constant("ln_f.bias", 0f, d);
        _eps = Hold(shape.LayerNormEps);
        _attentionScale = Hold(1.0 / Math.Sqrt(shape.HiddenSize / shape.NumHeads));
    }

    public override int VocabSize => _shape.VocabSize;
    public override int MaxPositions => _shape.MaxPositions;

    public override Tensor Logits(Tensor tokens)
    {
        CheckTokens(tokens);
        long b = tokens.shape[0], t = tokens.shape[1], d = _shape.HiddenSize, h = _shape.NumHeads, hd = d / h;
        var x = _wte.index_select(0, tokens.reshape(-1)).reshape(b, t, d).Plus(_wpe.narrow(0, 0, t).unsqueeze(0));
        var mask = CausalMask(t);
        foreach (var w in _blocks)
        {
            var qkv = Conv1D(Layers.LayerNorm(x, w.Ln1Weight, w.Ln1Bias, _eps), w.AttnWeight, w.AttnBias);
            var q = Layers.SplitHeads(qkv.narrow(-1, 0, d), h, hd);
            var k = Layers.SplitHeads(qkv.narrow(-1, d, d), h, hd);
            var v = Layers.SplitHeads(qkv.narrow(-1, 2 * d, d), h, hd);
            x = x.Plus(Conv1D(Layers.Attend(q, k, v, mask, _attentionScale), w.AttnProjWeight, w.AttnProjBias));

            var hidden = Layers.LayerNorm(x, w.Ln2Weight, w.Ln2Bias, _eps);
            x = x.Plus(Conv1D(Layers.GeluTanh(Conv1D(hidden, w.FcWeight, w.FcBias)), w.MlpProjWeight, w.MlpProjBias));
        }
        return torch.matmul(Layers.LayerNorm(x, _lnFWeight, _lnFBias, _eps), _wte.t());
    }

    private static Tensor Conv1D(Tensor x, Tensor weight, Tensor bias) => torch.matmul(x, weight).Plus(bias);

    /// <summary>The config.json <c>GPT2LMHeadModel.save_pretrained</c> writes for this shape.</summary>
    public override byte[] ConfigJson()
    {
        var s = _shape;
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("activation_function", "gelu_new");
            w.WriteStartArray("architectures"); w.WriteStringValue("GPT2LMHeadModel"); w.WriteEndArray();
            w.WriteNumber("attn_pdrop", 0.0);
            if (s.BosTokenId is int bos) w.WriteNumber("bos_token_id", bos); else w.WriteNull("bos_token_id");
            w.WriteNumber("embd_pdrop", 0.0);
            if (s.EosTokenId is int eos) w.WriteNumber("eos_token_id", eos); else w.WriteNull("eos_token_id");
            w.WriteNumber("initializer_range", InitStd);
            w.WriteNumber("layer_norm_epsilon", s.LayerNormEps);
            w.WriteString("model_type", "gpt2");
            w.WriteNumber("n_ctx", s.MaxPositions);
            w.WriteNumber("n_embd", s.HiddenSize);
            w.WriteNumber("n_head", s.NumHeads);
            w.WriteNull("n_inner");
            w.WriteNumber("n_layer", s.NumLayers);
            w.WriteNumber("n_positions", s.MaxPositions);
            w.WriteNumber("resid_pdrop", 0.0);
            w.WriteBoolean("scale_attn_by_inverse_layer_idx", false);
            w.WriteBoolean("scale_attn_weights", true);
            w.WriteBoolean("tie_word_embeddings", true);
            w.WriteString("torch_dtype", "float32");
            w.WriteBoolean("use_cache", true);
            w.WriteNumber("vocab_size", s.VocabSize);
            w.WriteEndObject();
        }
        json.WriteByte((byte)'\n');
        return json.ToArray();
    }
}
