using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
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

    // The TopK path's working state, reused across calls (under the lock): its block-sized buffers, and the least k-th
    // value of the last block's tokens (where the next block's scans start).
    private readonly object _tileLock = new();
    private TopKBlock? _block;
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

    public SaeEncoding Encode(ReadOnlySpan<float> rows, IReadOnlyList<int> sequenceLengths, ReconstructionOutput reconstruction = ReconstructionOutput.Values)
    {
        int dIn = Config.DIn, dSae = Config.DSae;
        if (rows.Length % dIn != 0) throw new ArgumentException($"{rows.Length} values are not whole rows of d_in = {dIn}");
        int n = rows.Length / dIn;
        EnsureTensors();
        if (Config.Architecture == SaeArchitecture.TopK && _device.type == DeviceType.CPU && n > 0)
            lock (_tileLock) return EncodeTopKOnCpu(rows, n, reconstruction);   // one tile and one set of selections per encoder
        var builder = new SparseCodes.Builder(dSae);
        var values = reconstruction == ReconstructionOutput.Values ? new float[rows.Length] : null;
        double sse = 0;
        int block = BlockRows(dSae);
        using var _ = torch.no_grad();
        // Each block is copied into one host tensor (torch.tensor of a fresh array costs ~20x a copy).
        using var staging = torch.empty(Math.Min(block, Math.Max(n, 1)), dIn);
        for (int start = 0; start < n; start += block)
        {
            int count = Math.Min(block, n - start);
            using var scope = torch.NewDisposeScope();
            var host = staging.narrow(0, 0, count);
            rows.Slice(start * dIn, count * dIn).CopyTo(HostFloats(host));
            var (codes, recon) = Forward(host.to(_device));
            builder.AppendDense(HostFloats(codes.cpu().contiguous()), count);
            var reconRows = HostFloats(recon.cpu().contiguous());
            sse += ReconstructionError.SumOfSquares(rows.Slice(start * dIn, count * dIn), reconRows, dIn);
            if (values is not null) reconRows.CopyTo(values.AsSpan(start * dIn));
        }
        return new SaeEncoding(new Dictionary<string, SparseCodes> { [CodesOutput] = builder.Build() }, values, sse);
    }

    /// <summary>Tokens per block of the dense path: the block's d_sae-wide codes take 16 MiB.</summary>
    private static int BlockRows(int dSae) => Math.Max(1, (1 << 22) / dSae);

    /// <summary>A contiguous CPU float32 tensor's values, in place.</summary>
    private static Span<float> HostFloats(Tensor t) =>
        t.is_contiguous() ? MemoryMarshal.Cast<byte, float>(t.bytes) : throw new ArgumentException("expected a contiguous tensor");

    /// <summary>
    /// Tokens per block of the TopK path: a GEMM packs its W_enc columns once per call, so more rows per call is faster
    /// (4096 rows: 0.88 of the GEMM rate at d_in 512, d_sae 8192, against 0.84 with 2048, interleaved in one process);
    /// at most 4096, and fewer for wide inputs so that the block's three d_in-wide buffers stay within 3 × 8 Mi floats.
    /// </summary>
    private static int TopKBlockRows(int dIn) => Math.Clamp((1 << 23) / dIn, 256, 4096);

    /// <summary>Pre-activation tile of the TopK path: 8 Mi floats (32 MiB) reused for every tile, 2048 features wide at 4096 rows.</summary>
    private const int TileFloats = 1 << 23;

    /// <summary>
    /// TopK on the CPU without dense codes. Per block of up to 4096 tokens, the pre-activations are computed a tile of
    /// features at a time (the same matmul as <see cref="Forward"/>, over a column range of W_enc, into one reused
    /// tile) and each token's <see cref="TopKSelection"/> scans its row of the tile (tokens in parallel), so no
    /// d_sae-wide row is sorted, and nothing block-wide beyond one tile exists. The reconstruction sums the k decoder
    /// rows of each token's codes. The codes are exactly <see cref="Forward"/>'s: a token whose k-th value is tied (or
    /// that holds a NaN) is encoded by <see cref="Forward"/>'s own ops.
    /// </summary>
    /// <remarks>
    /// Every block-sized buffer (input, tile, codes, x̂, errors) is the encoder's and reused from call to call; only the
    /// returned codes (and x̂, when asked for) are new memory. Fresh pages cost the kernel a fault each, and on a VM
    /// that was a third of the time beyond the matmul (measured: 2048³ GEMMs into fresh outputs ran at 125 against
    /// 165 GFLOP/s into a reused one).
    /// </remarks>
    private SaeEncoding EncodeTopKOnCpu(ReadOnlySpan<float> rows, int n, ReconstructionOutput want)
    {
        int dIn = Config.DIn, dSae = Config.DSae, k = Config.K!.Value;
        var block = TopKBlock.Ensure(ref _block, Math.Min(TopKBlockRows(dIn), n), dIn, k);
        // Tile width: a multiple of 64 features filling the tile at this block's height (the whole row when it fits).
        int tileWidth = Math.Min(dSae, Math.Max(64, TileFloats / block.Rows / 64 * 64));
        var (selections, tileTensor, counts, indices, values, errors) = (block.Selections, block.Tile, block.Counts, block.Indices, block.Values, block.Errors);
        bool normalized = Config.Normalization is SaeNormalization.ConstantNormRescale or SaeNormalization.LayerNorm;
        var codes = new SparseCodes.Writer(n, dSae, k);
        var reconstruction = want == ReconstructionOutput.Values ? new float[rows.Length] : null;
        double sse = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount };
        using var _ = torch.no_grad();
        for (int start = 0; start < n; start += block.Rows)
        {
            int count = Math.Min(block.Rows, n - start);
            using var scope = torch.NewDisposeScope();
            var x = block.Input.narrow(0, 0, count);
            rows.Slice(start * dIn, count * dIn).CopyTo(HostFloats(x));
            var (xin, undo) = SaeNorm.In(Config.Normalization, x, Config.DIn);
            // Into reused memory: the block's input stays as it came (its squared error is taken against it).
            var saeIn = !Config.ApplyBDecToInput ? xin
                : ReferenceEquals(xin, x) ? block.Centered.narrow(0, 0, count).copy_(x).sub_(_bDec!) : xin.sub_(_bDec!);
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
            Parallel.For(0, Chunks(count), parallel, c =>
            {
                var (low, high) = Chunk(count, c);
                for (int r = low; r < high; r++)
                {
                    counts[r] = selections[r].Finish(indices.AsSpan(r * k, k), values.AsSpan(r * k, k));
                    if (counts[r] < 0) lock (toTorch) toTorch.Add(r);
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
                    int r = toTorch[i];
                    counts[r] = Nonzeros(denseRows.Slice(i * dSae, dSae), indices.AsSpan(r * k, k), values.AsSpan(r * k, k));
                }
            }
            // x̂ of each token, and (unless the normalisation must be undone first) its squared error while the row is hot.
            var (inputTensor, output) = (block.Input, block.Output);
            Parallel.For(0, Chunks(count), parallel, c =>
            {
                var (low, high) = Chunk(count, c);
                var input = HostFloats(inputTensor);
                var xhat = HostFloats(output);
                for (int r = low; r < high; r++)
                {
                    Reconstruct(counts[r], indices.AsSpan(r * k, k), values.AsSpan(r * k, k), xhat.Slice(r * dIn, dIn));
                    if (!normalized) errors[r] = ReconstructionError.SumOfSquares(input.Slice(r * dIn, dIn), xhat.Slice(r * dIn, dIn));
                }
            });
            var xhatRows = HostFloats(output.narrow(0, 0, count));
            if (normalized)
            {
                HostFloats(undo(output.narrow(0, 0, count)).contiguous()).CopyTo(xhatRows);
                var input = HostFloats(x);
                for (int r = 0; r < count; r++) errors[r] = ReconstructionError.SumOfSquares(input.Slice(r * dIn, dIn), xhatRows.Slice(r * dIn, dIn));
            }
            for (int r = 0; r < count; r++) sse += errors[r];   // in token order, whatever the threads
            if (reconstruction is not null) xhatRows.CopyTo(reconstruction.AsSpan(start * dIn));
            for (int r = 0; r < count; r++) codes.Append(indices.AsSpan(r * k, counts[r]), values.AsSpan(r * k, counts[r]));
        }
        return new SaeEncoding(new Dictionary<string, SparseCodes> { [CodesOutput] = codes.Build() }, reconstruction, sse);
    }

    /// <summary>The TopK path's block-sized working memory, kept by the encoder between calls (under its lock).</summary>
    private sealed class TopKBlock : IDisposable
    {
        public required int Rows { get; init; }
        public required Tensor Input { get; init; }      // Rows x d_in: the block's input, copied in
        public required Tensor Centered { get; init; }   // Rows x d_in: input − b_dec
        public required Tensor Tile { get; init; }       // pre-activations of one tile of features
        public required Tensor Output { get; init; }     // Rows x d_in: x̂
        public required TopKSelection[] Selections { get; init; }
        public required int[] Counts { get; init; }      // per token: codes kept, or −1 (torch decides)
        public required int[] Indices { get; init; }     // Rows x k
        public required float[] Values { get; init; }    // Rows x k
        public required double[] Errors { get; init; }   // per token: Σ (x − x̂)²

        public static TopKBlock Ensure(ref TopKBlock? block, int rows, int dIn, int k)
        {
            if (block is not null && block.Rows >= rows) return block;
            block?.Dispose();
            return block = new TopKBlock
            {
                Rows = rows, Input = torch.empty(rows, dIn), Centered = torch.empty(rows, dIn), Tile = torch.empty(TileFloats), Output = torch.empty(rows, dIn),
                Selections = Enumerable.Range(0, rows).Select(_ => new TopKSelection(k)).ToArray(),
                Counts = new int[rows], Indices = new int[rows * k], Values = new float[rows * k], Errors = new double[rows],
            };
        }

        public void Dispose()
        {
            Input.Dispose(); Centered.Dispose(); Tile.Dispose(); Output.Dispose();
        }
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
    /// One token's x̂ = Σ codes · W_dec rows + b_dec (before undoing the input normalisation), a strip of d_in at a time:
    /// the strip's sums stay in registers while the token's decoder rows are read, and are stored once. Every element
    /// is the same float32 fused multiply-adds in ascending feature order, whatever the strip width, so x̂ does not
    /// depend on the vector width. (Adding into the tokens' rows feature by feature instead reads and writes a whole
    /// row of x̂ per code.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void Reconstruct(int n, ReadOnlySpan<int> features, ReadOnlySpan<float> coefficients, Span<float> xhat)
    {
        int dIn = Config.DIn, j = 0;
        fixed (float* w0 = WDec)
        fixed (float* b0 = BDec)
        fixed (float* s = xhat)
        fixed (int* f = features)
        fixed (float* v = coefficients)
        {
            if (Vector512.IsHardwareAccelerated)
                for (; j + 64 <= dIn; j += 64)
                {
                    Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int c = 0; c < n; c++)
                    {
                        float* w = w0 + (long)f[c] * dIn + j;
                        var value = Vector512.Create(v[c]);
                        a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w), value, a0);
                        a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 16), value, a1);
                        a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 32), value, a2);
                        a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w + 48), value, a3);
                    }
                    (a0 + Vector512.Load(b0 + j)).Store(s + j);
                    (a1 + Vector512.Load(b0 + j + 16)).Store(s + j + 16);
                    (a2 + Vector512.Load(b0 + j + 32)).Store(s + j + 32);
                    (a3 + Vector512.Load(b0 + j + 48)).Store(s + j + 48);
                }
            if (Vector256.IsHardwareAccelerated)
                for (; j + 32 <= dIn; j += 32)
                {
                    Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
                    for (int c = 0; c < n; c++)
                    {
                        float* w = w0 + (long)f[c] * dIn + j;
                        var value = Vector256.Create(v[c]);
                        a0 = Vector256.FusedMultiplyAdd(Vector256.Load(w), value, a0);
                        a1 = Vector256.FusedMultiplyAdd(Vector256.Load(w + 8), value, a1);
                        a2 = Vector256.FusedMultiplyAdd(Vector256.Load(w + 16), value, a2);
                        a3 = Vector256.FusedMultiplyAdd(Vector256.Load(w + 24), value, a3);
                    }
                    (a0 + Vector256.Load(b0 + j)).Store(s + j);
                    (a1 + Vector256.Load(b0 + j + 8)).Store(s + j + 8);
                    (a2 + Vector256.Load(b0 + j + 16)).Store(s + j + 16);
                    (a3 + Vector256.Load(b0 + j + 24)).Store(s + j + 24);
                }
            for (; j < dIn; j++)
            {
                float sum = 0f;
                for (int c = 0; c < n; c++) sum = MathF.FusedMultiplyAdd(w0[(long)f[c] * dIn + j], v[c], sum);
                s[j] = sum + b0[j];
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
        _block?.Dispose(); _block = null;
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
