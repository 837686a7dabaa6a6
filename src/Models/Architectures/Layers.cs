using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Architectures;

/// <summary>
/// The pieces the families share, each as its published definition. Norms and softmax run in float32 and cast
/// back to the model dtype; everything else runs in the model dtype. Scalars (eps, scale, cap) come held by the
/// model (see <see cref="HeldScalars"/>).
/// </summary>
public static class Layers
{
    /// <summary>x / sqrt(mean(x^2) + eps) over the last dimension (RMSNorm without its gain).</summary>
    public static Tensor RmsNormalize(Tensor x, Scalar eps)
    {
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(HeldScalars.Two).mean([-1L], keepdim: true);
        return (x32 * torch.rsqrt(variance.Plus(eps))).to(x.dtype);
    }

    /// <summary>(x - mean(x)) / sqrt(var(x) + eps) over the last dimension (LayerNorm without weight and bias; biased variance).</summary>
    /// (libtorch's fused kernel: one pass instead of eight elementwise ops, each a round trip through memory and the thread pool.)
    public static Tensor LayerNormalize(Tensor x, double eps) => F.layer_norm(x.to(ScalarType.Float32), [x.shape[^1]], eps: eps).to(x.dtype);

    /// <summary>LayerNorm with its weight and bias (fused in float32; in reduced precision normalised in float32, scaled in the model dtype).</summary>
    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, double eps) =>
        x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32
            ? F.layer_norm(x, [x.shape[^1]], weight, bias, eps)
            : (LayerNormalize(x, eps) * weight).Plus(bias);

    /// <summary>
    /// LayerNorm written out op by op, as the trainable twins (src/Models/Training) compute it: kept as it was so that
    /// training, and the models it has cached by content, stay bit-identical. Equal to the fused form to float32 rounding.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor weight, Tensor bias, Scalar eps)
    {
        var x32 = x.to(ScalarType.Float32);
        var centered = x32 - x32.mean([-1L], keepdim: true);
        var variance = centered.pow(HeldScalars.Two).mean([-1L], keepdim: true);
        return ((centered * torch.rsqrt(variance.Plus(eps))).to(x.dtype) * weight).Plus(bias);
    }

    /// <summary>GPT-2's gelu_new and Gemma's gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).</summary>
    /// (libtorch's fused kernel; the same formula written out in tensor ops costs more than the MLP's matmuls.)
    public static Tensor GeluTanh(Tensor x) => x.gelu(TorchSharp.Modules.GELU.Approximate.tanh);

    /// <summary>The exact GELU, x Phi(x) (GPT-NeoX's "gelu").</summary>
    public static Tensor Gelu(Tensor x) => F.gelu(x);

    /// <summary>Gemma-2's soft-capping: cap * tanh(x / cap), computed in float32.</summary>
    public static Tensor SoftCap(Tensor x, Scalar cap) => (torch.tanh(x.to(ScalarType.Float32) / cap) * cap).to(x.dtype);

    /// <summary>
    /// Which keys each query may not attend to, [B, 1, T, T] (true = hidden): later positions, padding (except a
    /// padding query's own key), and with a <paramref name="window"/> keys window or more positions back (a query
    /// sees itself and window - 1 before it).
    /// </summary>
    public static Tensor BlockedKeys(long[] lengths, long seq, int? window, Device device)
    {
        var allowed = torch.ones(seq, seq, ScalarType.Bool, device).tril();                                    // [T, T]
        if (window is int w && w < seq)
            allowed = allowed.logical_and(torch.ones(seq, seq, ScalarType.Bool, device).triu(1 - w));          // q - k < w
        var positions = Positions(seq, ScalarType.Int64, device).unsqueeze(0);                                 // [1, T]
        var keyIsReal = positions < torch.tensor(lengths, ScalarType.Int64, device).unsqueeze(1);              // [B, T]
        // Every query keeps its own key, so a padding query whose window holds only padding gets no all-masked
        // softmax row (NaN), whose NaN would reach real rows through 0 * NaN in the next layer's probs @ v.
        var self = torch.eye(seq, dtype: ScalarType.Bool, device: device);
        var visible = keyIsReal.unsqueeze(1).unsqueeze(1).logical_or(self.unsqueeze(0).unsqueeze(0));          // [B, 1, T, T]
        return allowed.unsqueeze(0).unsqueeze(0).logical_and(visible).logical_not();
    }

    /// <summary>inv_freq_i = base^(-2i/dims), i = 0..dims/2-1: the RoPE frequencies over <paramref name="dims"/> rotated dimensions.</summary>
    public static float[] RotaryInverseFrequencies(double theta, int dims) =>
        Enumerable.Range(0, dims / 2).Select(i => (float)(1.0 / Math.Pow(theta, 2.0 * i / dims))).ToArray();

    /// <summary>cos and sin of position * frequency, [T, dims] each, duplicated across the two halves (HF layout).</summary>
    public static (Tensor Cos, Tensor Sin) RotaryTables(float[] invFreq, long seq, ScalarType dtype, Device device)
    {
        var positions = Positions(seq, ScalarType.Float32, device);
        var freqs = positions.unsqueeze(1) * torch.tensor(invFreq, ScalarType.Float32, device).unsqueeze(0);   // [T, dims/2]
        var emb = torch.cat([freqs, freqs], dim: -1);
        return (emb.cos().to(dtype), emb.sin().to(dtype));
    }

    /// <summary>
    /// Rotate-half RoPE on the first cos.shape[-1] dimensions of each head (all of them, or GPT-NeoX's rotary_pct
    /// share); the rest pass through. x: [B, h, T, hd].
    /// </summary>
    public static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin)
    {
        long dims = cos.shape[^1], hd = x.shape[^1];
        var rot = dims == hd ? x : x.narrow(-1, 0, dims);
        var x1 = rot.narrow(-1, 0, dims / 2);
        var x2 = rot.narrow(-1, dims / 2, dims / 2);
        var rotated = (rot * cos).Plus(torch.cat([-x2, x1], dim: -1) * sin);
        return dims == hd ? rotated : torch.cat([rotated, x.narrow(-1, dims, hd - dims)], dim: -1);
    }

    /// <summary>
    /// softmax(q k^T * scale, masked) v for q [B, h, T, hd] and k, v [B, kvh, T, hd] (query head i reads key/value
    /// head i / (h / kvh)); scores soft-capped first when <paramref name="softCap"/> is given. Returns [B, T, h * hd].
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor blocked, Scalar scale, Scalar? softCap = null)
    {
        long b = q.shape[0], h = q.shape[1], t = q.shape[2], hd = q.shape[3], kvh = k.shape[1];
        if (kvh != h)
        {
            k = k.repeat_interleave(h / kvh, dim: 1);
            v = v.repeat_interleave(h / kvh, dim: 1);
        }
        var scores = torch.matmul(q, k.transpose(2, 3)) * scale;   // [B, h, T, T]
        if (softCap is not null) scores = SoftCap(scores, softCap);
        scores = scores.masked_fill(blocked, HeldScalars.NegativeInfinity);
        var probs = scores.softmax(-1, ScalarType.Float32).to(q.dtype);
        return torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h * hd);
    }

    /// <summary>
    /// softmax(q k^T / sqrt(hd), masked) v by libtorch's fused scaled-dot-product attention, for the families whose
    /// scale is 1/sqrt(head dim) and that do not soft-cap: no [B, h, T, T] score, mask or probability tensors. q is
    /// [B, h, T, hd], k and v [B, kvh, T, hd]; <paramref name="allowed"/> is [B, 1, T, T] with true where the key is
    /// visible. Returns [B, T, h * hd].
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, Tensor allowed)
    {
        long b = q.shape[0], h = q.shape[1], t = q.shape[2], hd = q.shape[3], kvh = k.shape[1];
        if (kvh != h)
        {
            k = k.repeat_interleave(h / kvh, dim: 1);
            v = v.repeat_interleave(h / kvh, dim: 1);
        }
        return F.scaled_dot_product_attention(q, k, v, allowed).transpose(1, 2).reshape(b, t, h * hd);
    }

    /// <summary>0, 1, ..., n - 1: torch.arange(n) with its Scalars held.</summary>
    private static Tensor Positions(long n, ScalarType dtype, Device device)
    {
        using Scalar end = n;
        return torch.arange(HeldScalars.Zero, end, HeldScalars.One, dtype, device);
    }

    /// <summary>[B, T, h * hd] to [B, h, T, hd].</summary>
    public static Tensor SplitHeads(Tensor x, long heads, long headDim) => x.view(x.shape[0], x.shape[1], heads, headDim).transpose(1, 2);
}
