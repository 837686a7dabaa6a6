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

    // The TopK path's working state, reused across calls (under the lock): the pre-activation tile, one selection per
    // token of a block, and the least k-th value of the last block's tokens (where the next block's scans start).
    private readonly object _tileLock = new();
    private Tensor? _tile;
    private TopKSelection[]? _selections;
    private float _kthGuess;

    public SparseAutoencoder(SaeConfig config, float[] wEnc, float[] bEnc, float[] wDec, float[] bDec, float[]? threshold = null, string device = "cpu")
    {
        if (config.Architecture == SaeArchitecture.Temporal) throw new ArgumentException("use TemporalSae for temporal SAEs");
        if (config.ScalingFactor != 1.0) throw new ArgumentException("an input scaling factor is a temporal SAE's setting; SAELens-style SAEs fold it into their weights");
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
        if (Config.Architecture == SaeArchitecture.TopK && _device.type == DeviceType.CPU)
            lock (_tileLock) return EncodeTopKOnCpu(rows, n);   // one tile and one set of selections per encoder
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

    /// <summary>Tokens per block of the dense path: the block's d_sae-wide codes take 16 MiB.</summary>
    private static int BlockRows(int dSae) => Math.Max(1, (1 << 22) / dSae);

    /// <summary>A contiguous CPU float32 tensor's values, read in place.</summary>
    private static ReadOnlySpan<float> HostFloats(Tensor t) =>
        t.is_contiguous() ? MemoryMarshal.Cast<byte, float>(t.bytes) : throw new ArgumentException("expected a contiguous tensor");

    /// <summary>Tokens per block of the TopK path: a GEMM packs W_enc once per call, so more rows per call is faster.</summary>
    private const int TopKBlockRows = 2048;

    /// <summary>Pre-activation tile of the TopK path: 4 Mi floats (16 MiB, last-level cache) reused for every tile.</summary>
    private const int TileFloats = 1 << 22;

    /// <summary>
    /// TopK on the CPU without dense codes. Per block of up to 2048 tokens, the pre-activations are computed a tile of
    /// features at a time (the same matmul as <see cref="Forward"/>, over a column range of W_enc, into one reused
    /// tile) and each token's <see cref="TopKSelection"/> scans its row of the tile (tokens in parallel), so no
    /// d_sae-wide row is sorted, and nothing block-wide beyond one tile exists. The reconstruction sums the k decoder
    /// rows of each token's codes. The codes are exactly <see cref="Forward"/>'s: a token whose k-th value is tied (or
    /// that holds a NaN) is encoded by <see cref="Forward"/>'s own ops.
    /// </summary>
    private SaeEncoding EncodeTopKOnCpu(ReadOnlySpan<float> rows, int n)
    {
        int dIn = Config.DIn, dSae = Config.DSae, k = Config.K!.Value;
        int blockRows = Math.Min(TopKBlockRows, n);
        // Tile width: a multiple of 64 features filling the tile at this block's height (the whole row when it fits).
        int tileWidth = Math.Min(dSae, Math.Max(64, TileFloats / blockRows / 64 * 64));
        _tile ??= torch.empty(TileFloats);
        if (_selections is null || _selections.Length < blockRows)
            _selections = Enumerable.Range(0, blockRows).Select(_ => new TopKSelection(k)).ToArray();
        var selections = _selections;
        var tileTensor = _tile;
        var counts = new int[n];
        var indices = new int[(long)n * k];
        var values = new float[(long)n * k];
        var reconstruction = new float[rows.Length];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        using var _ = torch.no_grad();
        for (int start = 0; start < n; start += blockRows)
        {
            int count = Math.Min(blockRows, n - start);
            using var scope = torch.NewDisposeScope();
            var x = torch.tensor(rows.Slice(start * dIn, count * dIn).ToArray(), [count, dIn]);
            var (xin, undo) = SaeNorm.In(Config.Normalization, x, Config.DIn);
            var saeIn = (Config.ApplyBDecToInput ? xin - _bDec! : xin).contiguous();
            for (int r = 0; r < count; r++) selections[r].Reset(_kthGuess);
            for (int from = 0; from < dSae; from += tileWidth)
            {
                int width = Math.Min(tileWidth, dSae - from), offset = from;
                using (var tileScope = torch.NewDisposeScope())
                {
                    var pre = tileTensor.narrow(0, 0, (long)count * width).view(count, width);
                    pre.addmm_(saeIn, _wEnc!.narrow(1, from, width), beta: 0f, alpha: 1f);   // the bias is added by the scan
                }
                Parallel.For(0, Chunks(count), parallel, c =>
                {
                    var tile = MemoryMarshal.Cast<byte, float>(tileTensor.bytes);
                    var bias = BEnc.AsSpan(offset, width);
                    var (low, high) = Chunk(count, c);
                    for (int r = low; r < high; r++) selections[r].Scan(tile.Slice(r * width, width), bias, offset);
                });
            }
            var toTorch = new List<int>();
            int first = start;
            Parallel.For(0, Chunks(count), parallel, c =>
            {
                var (low, high) = Chunk(count, c);
                for (int r = low; r < high; r++)
                {
                    int row = first + r;
                    counts[row] = selections[r].Finish(indices.AsSpan(row * k, k), values.AsSpan(row * k, k));
                    if (counts[row] < 0) lock (toTorch) toTorch.Add(r);
                }
            });
            _kthGuess = NextGuess(selections, count);
            if (toTorch.Count > 0)
            {
                toTorch.Sort();
                var picked = torch.tensor(toTorch.Select(r => (long)r).ToArray());
                var dense = Activate(saeIn.index_select(0, picked).matmul(_wEnc!).Plus(_bEnc!)).contiguous();
                var denseRows = HostFloats(dense);
                for (int i = 0; i < toTorch.Count; i++)
                {
                    int row = start + toTorch[i];
                    counts[row] = Nonzeros(denseRows.Slice(i * dSae, dSae), indices.AsSpan(row * k, k), values.AsSpan(row * k, k));
                }
            }
            Parallel.For(0, Environment.ProcessorCount, parallel, part =>
            {
                int low = start + (int)((long)count * part / Environment.ProcessorCount);
                int high = start + (int)((long)count * (part + 1) / Environment.ProcessorCount);
                Reconstruct(low, high, counts, indices, values, reconstruction);
            });
            if (Config.Normalization is SaeNormalization.ConstantNormRescale or SaeNormalization.LayerNorm)
            {
                var recon = reconstruction.AsSpan(start * dIn, count * dIn);
                HostFloats(undo(torch.tensor(recon.ToArray(), [count, dIn])).contiguous()).CopyTo(recon);
            }
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

    /// <summary>
    /// Where the next block's scans start: below the least k-th value of this block's tokens by as much again as the
    /// median lies above it (a token whose k-th value is still lower is caught and sent to torch; the least of n alone
    /// would miss a new token with probability 1/(n + 1) at best); or nowhere after a block of fewer than 1024 tokens,
    /// or when more than 1% of the tokens had fewer than k positive pre-activations or went to torch (inputs unlike
    /// their neighbours: guessing would cost more than it saves).
    /// </summary>
    private static float NextGuess(TopKSelection[] selections, int count)
    {
        if (count < MinGuessRows) return 0f;
        var kth = new List<float>(count);
        for (int r = 0; r < count; r++)
            if (selections[r].Kth > 0f) kth.Add(selections[r].Kth);
        if ((count - kth.Count) * 100 > count) return 0f;   // tokens with no k-th value: fewer than k positive, or sent to torch
        kth.Sort();
        float least = kth[0], median = kth[kth.Count / 2];
        return Math.Max(0f, least - (median - least));
    }

    private const int MinGuessRows = 1024;

    /// <summary>A few contiguous chunks of rows per core, so uneven rows still balance.</summary>
    private static int Chunks(int rows) => Math.Max(1, Math.Min(rows, 4 * Environment.ProcessorCount));

    private static (int Low, int High) Chunk(int rows, int c)
    {
        int chunks = Chunks(rows);
        return ((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks));
    }

    /// <summary>The non-zero entries of a dense row, ascending; returns their number.</summary>
    private static int Nonzeros(ReadOnlySpan<float> row, Span<int> indices, Span<float> values)
    {
        int n = 0;
        for (int j = 0; j < row.Length; j++)
            if (row[j] != 0f) { indices[n] = j; values[n++] = row[j]; }
        return n;
    }

    /// <summary>
    /// x̂ = Σ codes · W_dec rows + b_dec for tokens [<paramref name="low"/>, <paramref name="high"/>) (before undoing the
    /// input normalisation), feature by feature: each decoder row is read once, in order, and added into the tokens
    /// that use it. (Token by token, each token's k rows would be fetched from all over W_dec; this way the scattered
    /// accesses fall on the tokens' rows, which stay in cache.) Each token's sum still runs over its features in
    /// ascending order.
    /// </summary>
    private unsafe void Reconstruct(int low, int high, int[] counts, int[] indices, float[] values, float[] reconstruction)
    {
        int dIn = Config.DIn, dSae = Config.DSae, k = Config.K!.Value, lanes = Vector<float>.Count;
        var start = new int[dSae + 1];
        for (int row = low; row < high; row++)
            for (int c = 0; c < counts[row]; c++) start[indices[row * k + c] + 1]++;
        for (int f = 0; f < dSae; f++) start[f + 1] += start[f];
        var rows = new int[start[dSae]];
        var coefficients = new float[start[dSae]];
        var fill = start[..dSae];
        for (int row = low; row < high; row++)
            for (int c = 0; c < counts[row]; c++)
            {
                int slot = fill[indices[row * k + c]]++;
                rows[slot] = row;
                coefficients[slot] = values[row * k + c];
            }
        Array.Clear(reconstruction, low * dIn, (high - low) * dIn);
        fixed (float* w0 = WDec)
        fixed (float* r0 = reconstruction)
        {
            for (int f = 0; f < dSae; f++)
            {
                float* w = w0 + (long)f * dIn;
                for (int e = start[f]; e < start[f + 1]; e++)
                {
                    float value = coefficients[e];
                    var v = new Vector<float>(value);
                    float* s = r0 + (long)rows[e] * dIn;
                    int j = 0;
                    for (; j + lanes <= dIn; j += lanes)
                        Vector.Store(Vector.FusedMultiplyAdd(Vector.Load(w + j), v, Vector.Load(s + j)), s + j);
                    for (; j < dIn; j++) s[j] = MathF.FusedMultiplyAdd(w[j], value, s[j]);
                }
            }
            for (int row = low; row < high; row++)
            {
                float* s = r0 + (long)row * dIn;
                for (int j = 0; j < dIn; j++) s[j] += BDec[j];
            }
        }
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
        _tile?.Dispose(); _tile = null; _selections = null;
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
