using System.Numerics;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Saes;

/// <summary>
/// A standard (ReLU), TopK or JumpReLU SAE with SAELens' conventions (weights row-major):
/// <code>
/// x'   = norm_in(x)                      (normalize_activations)
/// pre  = (x' - b_dec·[apply_b_dec_to_input]) W_enc + b_enc      W_enc: d_in x d_sae
/// f    = ReLU(pre) | TopK_k(pre) then ReLU | pre·[pre &gt; threshold]
/// x̂    = norm_out(f W_dec + b_dec)                              W_dec: d_sae x d_in
/// </code>
/// Computes in float32 with TorchSharp, a block of tokens at a time, so d_sae-wide dense codes exist
/// only for one block.
/// </summary>
public sealed class SparseAutoencoder : ISparseEncoder
{
    public const string CodesOutput = "codes";

    public SaeConfig Config { get; }
    public float[] WEnc { get; }
    public float[] BEnc { get; }
    public float[] WDec { get; }
    public float[] BDec { get; }
    /// <summary>JumpReLU thresholds (d_sae); null for other architectures.</summary>
    public float[]? Threshold { get; }

    public IReadOnlyList<string> Outputs { get; } = [CodesOutput];

    private readonly Device _device;
    private Tensor? _wEnc, _bEnc, _wDec, _bDec, _threshold;

    public SparseAutoencoder(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? threshold = null, string device = "cpu")
    {
        if (config.Architecture == SaeArchitecture.Temporal) throw new ArgumentException("use TemporalSae for temporal SAEs");
        long encSize = (long)config.DIn * config.DSae;
        if (wEnc.Length != encSize) throw new ArgumentException($"W_enc has {wEnc.Length} values, expected d_in x d_sae = {encSize}");
        if (wDec.Length != encSize) throw new ArgumentException($"W_dec has {wDec.Length} values, expected d_sae x d_in = {encSize}");
        if (bEnc.Length != config.DSae) throw new ArgumentException($"b_enc has {bEnc.Length} values, expected d_sae = {config.DSae}");
        if (bDec.Length != config.DIn) throw new ArgumentException($"b_dec has {bDec.Length} values, expected d_in = {config.DIn}");
        if (config.Architecture == SaeArchitecture.JumpRelu && threshold?.Length != config.DSae)
            throw new ArgumentException($"a JumpReLU SAE needs a threshold of d_sae = {config.DSae} values");
        if (config.Architecture == SaeArchitecture.TopK && config.K is not (> 0) )
            throw new ArgumentException("a TopK SAE needs k > 0");
        if (config.K > config.DSae) throw new ArgumentException($"k = {config.K} exceeds d_sae = {config.DSae}");
        Config = config; WEnc = wEnc; BEnc = bEnc; WDec = wDec; BDec = bDec;
        Threshold = config.Architecture == SaeArchitecture.JumpRelu ? threshold : null;
        _device = torch.device(device);
    }

    public SaeEncoding Encode(ReadOnlySpan<float> rows, IReadOnlyList<int> sequenceLengths)
    {
        int dIn = Config.DIn, dSae = Config.DSae;
        if (rows.Length % dIn != 0) throw new ArgumentException($"{rows.Length} values are not whole rows of d_in = {dIn}");
        int n = rows.Length / dIn;
        EnsureTensors();
        if (Config.Architecture == SaeArchitecture.TopK && _device.type == DeviceType.CPU) return EncodeTopKOnCpu(rows, n);
        var builder = new SparseCodes.Builder(dSae);
        var reconstruction = new float[rows.Length];
        int block = BlockRows(dSae);
        using var _ = torch.no_grad();
        for (int start = 0; start < n; start += block)
        {
            int count = Math.Min(block, n - start);
            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(rows.Slice(start * dIn, count * dIn).ToArray(), [count, dIn]).to(_device);
            var (codes, recon) = Forward(x);
            builder.AppendDense(HostFloats(codes.cpu().contiguous()), count);
            HostFloats(recon.cpu().contiguous()).CopyTo(reconstruction.AsSpan(start * dIn, count * dIn));
        }
        return new SaeEncoding(new Dictionary<string, SparseCodes> { [CodesOutput] = builder.Build() }, reconstruction);
    }

    /// <summary>Tokens per block: the block's d_sae-wide pre-activations take 16 MiB (a last-level cache, not a row per token).</summary>
    private static int BlockRows(int dSae) => Math.Max(1, (1 << 22) / dSae);

    /// <summary>A contiguous CPU float32 tensor's values, read in place.</summary>
    private static ReadOnlySpan<float> HostFloats(Tensor t) =>
        t.is_contiguous() ? MemoryMarshal.Cast<byte, float>(t.bytes) : throw new ArgumentException("expected a contiguous tensor");

    /// <summary>
    /// TopK on the CPU without dense codes: per block of tokens the pre-activations come from the same matmul as
    /// <see cref="Forward"/>, the bias is added and the codes selected in one pass per row (<see cref="TopKSelection"/>,
    /// rows in parallel), and the reconstruction sums the k decoder rows of each token's codes. The codes are exactly
    /// <see cref="Forward"/>'s: a row whose k-th value is tied (or holds a NaN) goes through torch's topk itself.
    /// </summary>
    private SaeEncoding EncodeTopKOnCpu(ReadOnlySpan<float> rows, int n)
    {
        int dIn = Config.DIn, dSae = Config.DSae, k = Config.K!.Value;
        var counts = new int[n];
        var indices = new int[(long)n * k];
        var values = new float[(long)n * k];
        var reconstruction = new float[rows.Length];
        int block = BlockRows(dSae);
        using var _ = torch.no_grad();
        for (int start = 0; start < n; start += block)
        {
            int count = Math.Min(block, n - start);
            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(rows.Slice(start * dIn, count * dIn).ToArray(), [count, dIn]);
            var (xin, undo) = SaeNorm.In(Config.Normalization, x, Config.DIn);
            var saeIn = Config.ApplyBDecToInput ? xin - _bDec! : xin;
            var pre = saeIn.matmul(_wEnc!).contiguous();   // bias added by the selection, the same float32 addition
            var toTorch = SelectTopK(pre, start, count, counts, indices, values);
            foreach (int row in toTorch)
            {
                using var rowScope = torch.NewDisposeScope();
                var dense = TopK(pre.narrow(0, row - start, 1).Plus(_bEnc!), k).contiguous();
                counts[row] = Nonzeros(HostFloats(dense), indices.AsSpan(row * k, k), values.AsSpan(row * k, k));
            }
            var recon = reconstruction.AsSpan(start * dIn, count * dIn);
            Reconstruct(start, count, counts, indices, values, reconstruction);
            if (Config.Normalization is SaeNormalization.ConstantNormRescale or SaeNormalization.LayerNorm)
                HostFloats(undo(torch.tensor(recon.ToArray(), [count, dIn])).contiguous()).CopyTo(recon);
        }
        var offsets = new int[n + 1];
        for (int r = 0; r < n; r++) offsets[r + 1] = offsets[r] + counts[r];
        var outIndices = new int[offsets[n]];
        var outValues = new float[offsets[n]];
        for (int r = 0; r < n; r++)
        {
            indices.AsSpan(r * k, counts[r]).CopyTo(outIndices.AsSpan(offsets[r]));
            values.AsSpan(r * k, counts[r]).CopyTo(outValues.AsSpan(offsets[r]));
        }
        var codes = new SparseCodes(n, dSae, offsets, outIndices, outValues);
        return new SaeEncoding(new Dictionary<string, SparseCodes> { [CodesOutput] = codes }, reconstruction);
    }

    /// <summary>Selects the codes of rows [start, start + count) from their pre-activations (without bias); returns the rows left to torch.</summary>
    private List<int> SelectTopK(Tensor pre, int start, int count, int[] counts, int[] indices, float[] values)
    {
        int dSae = Config.DSae, k = Config.K!.Value;
        var toTorch = new List<int>();
        int chunks = Math.Min(count, 4 * Environment.ProcessorCount);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, () => new TopKSelection(k), (c, _, selection) =>
        {
            var all = HostFloats(pre);
            for (int r = (int)((long)count * c / chunks), end = (int)((long)count * (c + 1) / chunks); r < end; r++)
            {
                int row = start + r;
                int found = selection.Select(all.Slice(r * dSae, dSae), BEnc, indices.AsSpan(row * k, k), values.AsSpan(row * k, k));
                if (found >= 0) counts[row] = found;
                else lock (toTorch) toTorch.Add(row);
            }
            return selection;
        }, _ => { });
        toTorch.Sort();
        return toTorch;
    }

    /// <summary>The non-zero entries of a dense row, ascending; returns their number.</summary>
    private static int Nonzeros(ReadOnlySpan<float> row, Span<int> indices, Span<float> values)
    {
        int n = 0;
        for (int j = 0; j < row.Length; j++)
            if (row[j] != 0f) { indices[n] = j; values[n++] = row[j]; }
        return n;
    }

    /// <summary>x̂ = Σ codes · W_dec rows + b_dec for rows [start, start + count) (before undoing the input normalisation).</summary>
    private void Reconstruct(int start, int count, int[] counts, int[] indices, float[] values, float[] reconstruction)
    {
        int dIn = Config.DIn, k = Config.K!.Value;
        Parallel.For(start, start + count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, row =>
        {
            var sum = reconstruction.AsSpan(row * dIn, dIn);
            sum.Clear();
            for (int c = 0; c < counts[row]; c++)
            {
                float v = values[row * k + c];
                var w = WDec.AsSpan(indices[row * k + c] * dIn, dIn);
                int j = 0;
                for (; j + Vector<float>.Count <= dIn; j += Vector<float>.Count)
                    Vector.FusedMultiplyAdd(new Vector<float>(w[j..]), new Vector<float>(v), new Vector<float>(sum[j..])).CopyTo(sum[j..]);
                for (; j < dIn; j++) sum[j] = MathF.FusedMultiplyAdd(w[j], v, sum[j]);
            }
            for (int j = 0; j < dIn; j++) sum[j] += BDec[j];
        });
    }

    /// <summary>Dense codes and reconstruction of a block <c>x</c> (tokens x d_in). Callers own the dispose scope.</summary>
    public (Tensor Codes, Tensor Reconstruction) Forward(Tensor x)
    {
        EnsureTensors();
        var (xin, undo) = SaeNorm.In(Config.Normalization, x, Config.DIn);
        var saeIn = Config.ApplyBDecToInput ? xin - _bDec! : xin;
        var pre = saeIn.matmul(_wEnc!).Plus(_bEnc!);
        var codes = Activate(pre);
        var recon = undo(codes.matmul(_wDec!).Plus(_bDec!));
        return (codes, recon);
    }

    private Tensor Activate(Tensor pre) => Config.Architecture switch
    {
        SaeArchitecture.Standard => torch.nn.functional.relu(pre),
        SaeArchitecture.JumpRelu => torch.nn.functional.relu(pre) * pre.gt(_threshold!).to(pre.dtype),
        SaeArchitecture.TopK => TopK(pre, Config.K!.Value),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Keeps the k largest entries of each row (ReLU applied to them), zero elsewhere.</summary>
    internal static Tensor TopK(Tensor pre, int k)
    {
        var (values, indices) = pre.topk(k, dim: -1);
        return torch.zeros_like(pre).scatter(-1, indices, torch.nn.functional.relu(values));
    }

    private void EnsureTensors()
    {
        if (_wEnc is not null) return;
        _wEnc = torch.tensor(WEnc, [Config.DIn, Config.DSae]).to(_device);
        _bEnc = torch.tensor(BEnc, [Config.DSae]).to(_device);
        _wDec = torch.tensor(WDec, [Config.DSae, Config.DIn]).to(_device);
        _bDec = torch.tensor(BDec, [Config.DIn]).to(_device);
        if (Threshold is not null) _threshold = torch.tensor(Threshold, [Config.DSae]).to(_device);
    }

    public void Dispose()
    {
        _wEnc?.Dispose(); _bEnc?.Dispose(); _wDec?.Dispose(); _bDec?.Dispose(); _threshold?.Dispose();
        _wEnc = _bEnc = _wDec = _bDec = _threshold = null;
    }
}

/// <summary>SAELens' run-time activation normalisation, as a forward map and the map that undoes it.</summary>
internal static class SaeNorm
{
    private static readonly Scalar LayerNormEps = 1e-5;

    public static (Tensor X, Func<Tensor, Tensor> Undo) In(SaeNormalization norm, Tensor x, int dIn)
    {
        switch (norm)
        {
            case SaeNormalization.ConstantNormRescale:
            {
                using Scalar sqrtDIn = Math.Sqrt(dIn);
                var coeff = x.norm(-1, keepdim: true).reciprocal().mul(sqrtDIn);   // sqrt(d_in) / ||x||
                return (x * coeff, y => y / coeff);
            }
            case SaeNormalization.LayerNorm:
            {
                var mu = x.mean([-1L], keepdim: true);
                var centred = x - mu;
                var std = centred.std(-1, unbiased: true, keepdim: true);
                return (centred / std.Plus(LayerNormEps), y => (y * std).Plus(mu));
            }
            default:
                // none, and expected_average_only_in (its factor is folded into the weights when SAELens saves).
                return (x, y => y);
        }
    }
}
