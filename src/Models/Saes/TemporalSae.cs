using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Saes;

/// <summary>One attention layer of a temporal SAE (nn.Linear weights: out x in, applied as x Wᵀ + b).</summary>
public sealed record TemporalAttentionWeights(
    float[] KWeight, float[] KBias, float[] QWeight, float[] QBias, float[] VWeight, float[] VBias, float[] OWeight, float[] OBias);

/// <summary>
/// Temporal SAE (Lubana et al., "Priors in Time", github.com/ekdeepslubana/temporalsaes; ported to SAELens as
/// <c>TemporalSAE</c>). Per sequence, with λ = 1/(4·d_in), E = Dᵀ when tied, c = sae.scaling_factor (1 when absent):
/// <code>
/// X = c · activations                                  (the reference trainer scales activations before the SAE)
/// x = X - b;  z_pred = 0
/// per attention layer:
///   z   = ReLU(λ x E);  ctx = [0; z_0 .. z_{L-2}]        (token t sees only earlier tokens' codes)
///   p   = ReLU(causal multi-head attention(q = z, k = v = ctx))
///   s   = ⟨pD, x⟩ / (‖pD‖ + 1e-6)²;  z_pred += s·p;  x -= s·pD
/// z_novel = ReLU(λ x E), TopK-masked when sae_diff_type = topk
/// X̂ = (z_novel + z_pred) D + b;  reconstruction = X̂ / c   (reported in the activations' own units)
/// </code>
/// Outputs <c>novel</c> (sparse, non-negative) and <c>pred</c> (may be negative) codes.
/// </summary>
public sealed class TemporalSae : ISparseEncoder
{
    public const string NovelOutput = "novel";
    public const string PredOutput = "pred";
    private static readonly Scalar Eps = 1e-6;

    public SaeConfig Config { get; }
    public int NumHeads { get; }
    public int BottleneckFactor { get; }
    /// <summary>Decoder D, d_sae x d_in.</summary>
    public float[] D { get; }
    public float[] B { get; }
    /// <summary>Untied encoder E (d_in x d_sae), or null when tied to Dᵀ.</summary>
    public float[]? E { get; }
    public IReadOnlyList<TemporalAttentionWeights> Layers { get; }
    public IReadOnlyList<string> Outputs { get; } = [NovelOutput, PredOutput];

    private readonly Device _device;
    private Tensor? _d, _b, _e;
    private List<Tensor[]>? _layers;
    private Scalar? _lambda, _sqrtHeadWidth, _scale;   // λ = 1/(4 d_in), sqrt of a head's q/k width, c: held with the tensors (see HeldScalars)

    public TemporalSae(SaeConfig config, int numHeads, int bottleneckFactor, float[] d, float[] b, float[]? e,
        IReadOnlyList<TemporalAttentionWeights> layers, string device = "cpu")
    {
        int w = config.DSae, din = config.DIn;
        if (w % (bottleneckFactor * numHeads) != 0)
            throw new ArgumentException($"d_sae {w} must be divisible by bottleneck_factor x n_heads = {bottleneckFactor * numHeads}");
        if (d.Length != (long)w * din) throw new ArgumentException($"D has {d.Length} values, expected {w} x {din}");
        if (b.Length != din) throw new ArgumentException($"b has {b.Length} values, expected {din}");
        if (e is not null && e.Length != (long)w * din) throw new ArgumentException($"E has {e.Length} values, expected {din} x {w}");
        int ne = w / bottleneckFactor;
        foreach (var l in layers)
            if (l.KWeight.Length != ne * w || l.QWeight.Length != ne * w || l.VWeight.Length != w * w || l.OWeight.Length != w * w
                || l.KBias.Length != ne || l.QBias.Length != ne || l.VBias.Length != w || l.OBias.Length != w)
                throw new ArgumentException($"attention layer shapes must be k/q: {ne} x {w}, v/o: {w} x {w}");
        Config = config; NumHeads = numHeads; BottleneckFactor = bottleneckFactor; D = d; B = b; E = e; Layers = layers;
        _device = torch.device(device);
    }

    public SaeEncoding Encode(ReadOnlySpan<float> rows, IReadOnlyList<int> sequenceLengths, ReconstructionOutput reconstruction = ReconstructionOutput.Values)
    {
        int din = Config.DIn, w = Config.DSae;
        if (rows.Length != sequenceLengths.Sum() * (long)din)
            throw new ArgumentException($"{rows.Length} values do not match {sequenceLengths.Sum()} tokens x d_in {din}");
        EnsureTensors();
        var novel = new SparseCodes.Builder(w);
        var pred = new SparseCodes.Builder(w);
        var values = reconstruction == ReconstructionOutput.Values ? new float[rows.Length] : null;
        double sse = 0;
        using var _ = torch.no_grad();
        int at = 0;
        foreach (var length in sequenceLengths)
        {
            if (length == 0) continue;
            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(rows.Slice(at * din, length * din).ToArray(), [length, din]).to(_device);
            var (zNovel, zPred, recon) = Forward(x);
            novel.AppendDense(zNovel.cpu().data<float>().ToArray(), length);
            pred.AppendDense(zPred.cpu().data<float>().ToArray(), length);
            var reconRows = recon.cpu().data<float>().ToArray();
            sse += ReconstructionError.SumOfSquares(rows.Slice(at * din, length * din), reconRows, din);
            if (values is not null) reconRows.CopyTo(values.AsSpan(at * din));
            at += length;
        }
        return new SaeEncoding(new Dictionary<string, SparseCodes> { [NovelOutput] = novel.Build(), [PredOutput] = pred.Build() }, values, sse);
    }

    /// <summary>Novel codes, predicted codes and reconstruction of one sequence <c>x</c> (L x d_in).</summary>
    private (Tensor Novel, Tensor Pred, Tensor Recon) Forward(Tensor input)
    {
        int w = Config.DSae;
        long length = input.shape[0];
        var encoder = _e ?? _d!.t();
        bool scaled = Config.ScalingFactor != 1.0;
        var x = (scaled ? input * _scale! : input) - _b!;
        var zPred = torch.zeros([length, w], device: _device);
        foreach (var layer in _layers!)
        {
            var z = torch.nn.functional.relu((x * _lambda!).matmul(encoder));
            var ctx = torch.cat([torch.zeros([1, w], device: _device), z[..(int)(length - 1)]], 0);
            var p = torch.nn.functional.relu(Attention(layer, ctx, z));
            var dz = p.matmul(_d!);
            var norm = dz.norm(-1, keepdim: true).Plus(Eps);
            var scale = (dz * x).sum([-1L], keepdim: true) / norm.pow(HeldScalars.Two);
            zPred = zPred.Plus(p * scale);
            x = x - scale * dz;
        }
        var novel = torch.nn.functional.relu((x * _lambda!).matmul(encoder));
        if (Config.K is { } k) novel = SparseAutoencoder.TopK(novel, k);
        var recon = novel.Plus(zPred).matmul(_d!).Plus(_b!);
        return (novel, zPred, scaled ? recon / _scale! : recon);
    }

    /// <summary>Causal multi-head attention: queries from the token's own codes, keys/values from the shifted context.</summary>
    private Tensor Attention(Tensor[] l, Tensor ctx, Tensor target)
    {
        long length = ctx.shape[0];
        int w = Config.DSae, ne = w / BottleneckFactor, h = NumHeads;
        var k = torch.nn.functional.linear(ctx, l[0], l[1]).view(length, h, ne / h).transpose(0, 1);
        var q = torch.nn.functional.linear(target, l[2], l[3]).view(length, h, ne / h).transpose(0, 1);
        var v = torch.nn.functional.linear(ctx, l[4], l[5]).view(length, h, w / h).transpose(0, 1);
        var scores = q.matmul(k.transpose(1, 2)) / _sqrtHeadWidth!;
        var mask = torch.ones([length, length], dtype: ScalarType.Bool, device: _device).triu(1);
        var weights = torch.nn.functional.softmax(scores.masked_fill(mask, HeldScalars.NegativeInfinity), -1);
        var heads = weights.matmul(v).transpose(0, 1).contiguous().view(length, w);
        return torch.nn.functional.linear(heads, l[6], l[7]);
    }

    private void EnsureTensors()
    {
        if (_d is not null) return;
        int w = Config.DSae, din = Config.DIn, ne = w / BottleneckFactor;
        Tensor T(float[] v, params long[] shape) => torch.tensor(v, shape).to(_device);
        _d = T(D, w, din);
        _b = T(B, din);
        _e = E is null ? null : T(E, din, w);
        _layers = Layers.Select(l => new[]
        {
            T(l.KWeight, ne, w), T(l.KBias, ne), T(l.QWeight, ne, w), T(l.QBias, ne),
            T(l.VWeight, w, w), T(l.VBias, w), T(l.OWeight, w, w), T(l.OBias, w),
        }).ToList();
        _lambda = 1.0 / (4.0 * din);
        _sqrtHeadWidth = Math.Sqrt(ne / NumHeads);
        _scale = Config.ScalingFactor;
    }

    public void Dispose()
    {
        _d?.Dispose(); _b?.Dispose(); _e?.Dispose();
        foreach (var t in _layers?.SelectMany(l => l) ?? []) t.Dispose();
        _lambda?.Dispose(); _sqrtHeadWidth?.Dispose(); _scale?.Dispose();
        _d = _b = _e = null; _layers = null; _lambda = _sqrtHeadWidth = _scale = null;
    }
}
