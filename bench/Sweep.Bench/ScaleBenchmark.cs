using System.Diagnostics;
using Sweep.Analysis.Correlation;
using Sweep.Models.Saes;
using TorchSharp;

namespace Sweep.Bench;

/// <summary>
/// What Sweep exists for, at full size: exact feature matching between two 32,768-feature TopK-64 SAE sites over
/// 1,000,000 tokens, encoding included. The sites are two residual streams of the demo models' widths (d 64 and 48;
/// B a seeded linear map of A plus noise, so features really correspond), each encoded by a <see cref="SkewedSae"/>
/// (Zipf-like firing frequencies: a few dense features, a long tail). Streamed as a job's reducer streams shards: per
/// chunk of tokens, activations (synthetic, timed apart), encode A, encode B; every ~16 M codes a fold of the sparse
/// products into one <see cref="SparsePairStatistics"/>; then exact best matches. Reported: the time of each stage
/// and in all, peak RSS, co-active pairs; every stage segment measured between two GEMMs (<see cref="Yardstick"/>).
/// Beside it, what researchers use instead — a dense correlation as univ_feat_geom computes it (z-scored dense codes
/// of both sites in memory, float32 matrix products over the tokens for batches of B features, the best A feature of
/// each) — run on as many tokens as fit (capped for time), timed against the sparse path on the same tokens, and its
/// memory need and time at 32k × 32k × 1M computed from that.
/// </summary>
public sealed class ScaleBenchmark : IBenchmark, IOwnProcess
{
    public string Name => "scale";
    public string Description => "exact matching of two 32k-feature SAE sites over 1M tokens, encode included; dense univ_feat_geom-style beside it";

    private const int Width = 32768, K = 64, DInA = 64, DInB = 48, Chunk = 65536;
    private const long GoalBytes = 4L << 30;
    private const double GoalSeconds = 180;

    /// <summary>SWEEP_BENCH_SCALE_TOKENS shortens the run (e.g. 100000 for a quick look); the goal is stated for 1,000,000.</summary>
    private static int Tokens => int.TryParse(Environment.GetEnvironmentVariable("SWEEP_BENCH_SCALE_TOKENS"), out int t) && t > 0 ? t : 1_000_000;

    public void Run(BenchmarkOutput output)
    {
        int tokens = Tokens;
        using var yardstick = new Yardstick();
        using var saeA = SkewedSae.Create(DInA, Width, K, seed: 1);
        using var saeB = SkewedSae.Create(DInB, Width, K, seed: 2);
        using var sites = new CorrelatedSites(DInA, DInB, seed: 3);
        output.Note($"{tokens:N0} tokens; A: d_in {DInA}, B: d_in {DInB}; both TopK-{K} over {Width} features; chunks of {Chunk} tokens");

        Load.ResetPeak();
        long baseline = Load.CurrentRss();
        var generate = new Samples();
        var encodeA = new Samples();
        var encodeB = new Samples();
        var fold = new Samples();
        SparsePairStatistics? stats = null;
        var batch = new List<(SparseRows A, SparseRows B)>();
        long entries = 0, codesA = 0, codesB = 0;
        var firingA = new long[Width];
        var firingB = new long[Width];
        for (int start = 0; start < tokens; start += Chunk)
        {
            int count = Math.Min(Chunk, tokens - start);
            float[] xa = [], xb = [];
            generate.Add(yardstick.Time(() => (xa, xb) = sites.Next(count)));
            SparseCodes? a = null, b = null;
            encodeA.Add(yardstick.Time(() => { a = saeA.Encode(xa, [count], ReconstructionOutput.SquaredErrorOnly).Codes[SparseAutoencoder.CodesOutput]; return 2.0 * count * DInA * Width; }));
            encodeB.Add(yardstick.Time(() => { b = saeB.Encode(xb, [count], ReconstructionOutput.SquaredErrorOnly).Codes[SparseAutoencoder.CodesOutput]; return 2.0 * count * DInB * Width; }));
            foreach (var f in a!.Indices) firingA[f]++;
            foreach (var f in b!.Indices) firingB[f]++;
            codesA += a.Indices.Length; codesB += b.Indices.Length;
            batch.Add((new SparseRows(Width, a.Offsets, a.Indices, a.Values), new SparseRows(Width, b.Offsets, b.Indices, b.Values)));
            entries += a.Indices.Length + b.Indices.Length;
            if (entries < SparseCorrelationMeasure.BatchEntries && start + count < tokens) continue;
            fold.Add(yardstick.Time(() =>
            {
                stats ??= SparsePairStatistics.Empty(Width, Width);
                stats.Add(batch);
            }));
            batch.Clear();
            entries = 0;
        }
        BestMatches? matches = null;
        var finish = yardstick.Time(() => matches = SparseCorrelation.BestMatches(stats!));
        long peak = Load.PeakRss();

        double total = encodeA.TotalSeconds + encodeB.TotalSeconds + fold.TotalSeconds + finish.Seconds;
        output.Line("encode A (TopK, 32k features)", $"{encodeA.TotalSeconds,6:F1} s  {encodeA.FractionOfGemm.Format(unit: " of GEMM")}", encodeA);
        output.Line("encode B", $"{encodeB.TotalSeconds,6:F1} s  {encodeB.FractionOfGemm.Format(unit: " of GEMM")}", encodeB);
        output.Line("fold sparse products (per ~16 M codes)", $"{fold.TotalSeconds,6:F1} s  {fold.GemmEquivalents.Format(unit: " GEMMs per batch")}", fold);
        output.Line("exact best matches", $"{finish.Seconds,6:F1} s  {finish.GemmEquivalents:F1} GEMMs");
        output.Line("total, encode included", $"{total,6:F1} s = {tokens / total:F0} tokens/s (goal <= {GoalSeconds:F0} s at 1M tokens: {Verdict(total <= GoalSeconds, tokens)})");
        output.Line("  same, in yardstick GEMMs (machine-independent)", $"{total / Samples(encodeA, encodeB, fold).All.Average(s => s.GemmSeconds):F0} GEMMs of 2048³");
        output.Line("synthetic activations (not counted)", $"{generate.TotalSeconds,6:F1} s");
        output.Line("peak RSS (its own process, from before the first chunk)", $"{Gib(peak)} (at start {Gib(baseline)}; goal <= 4 GiB: {Verdict(peak <= GoalBytes, tokens)})");
        output.Line("co-active pairs", $"{stats!.CoActivePairs:N0} ({stats.DenseRowsA} A features with dense rows; statistics {Gib(stats.Bytes)})");
        output.Line("L0 per token (A, B)", $"{codesA / (double)tokens:F1}, {codesB / (double)tokens:F1}");
        output.Line("feature firing, A: max / median / live features", Frequencies(firingA, tokens));
        output.Line("feature firing, B: max / median / live features", Frequencies(firingB, tokens));
        output.Line("mutual best pairs", $"{matches!.MutualPairs().Count:N0} of {Width:N0}");
        stats = null; batch.Clear();

        DenseComparison(output, yardstick, saeA, saeB, tokens);
    }

    private static Samples Samples(params Samples[] parts)
    {
        var all = new Samples();
        foreach (var p in parts) all.AddRange(p);
        return all;
    }

    private static string Verdict(bool met, int tokens) => tokens < 1_000_000 ? "n/a (fewer tokens)" : met ? "met" : "NOT met";

    private static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";

    private static string Frequencies(long[] firing, int tokens)
    {
        var sorted = firing.Order().ToArray();
        return $"{sorted[^1] / (double)tokens:P1} / {sorted[sorted.Length / 2] / (double)tokens:P3} / {firing.Count(f => f > 0):N0}";
    }

    /// <summary>
    /// univ_feat_geom's batched_correlation on dense codes: z-score every column of both sites (std + 1e-8), then for
    /// batches of B columns corr = Aᵀ B_batch / n and the best A feature of each; on the first tokens of the same
    /// stream, against the sparse exact path on the same tokens.
    /// </summary>
    private static void DenseComparison(BenchmarkOutput output, Yardstick yardstick, SparseAutoencoder saeA, SparseAutoencoder saeB, int tokens)
    {
        // Both sites' dense codes and their z-scored copies (univ_feat_geom keeps both), in half the memory available now.
        long perToken = 2L * 2 * Width * sizeof(float);
        long fit = AvailableBytes() / 2 / perToken;
        // Capped for time (the dense cost is linear in tokens: the full size is extrapolated from it) and at one span per side.
        int n = (int)Math.Max(256, Math.Min(Math.Min(fit, 4096), (int.MaxValue / 4) / Width));
        using var sites = new CorrelatedSites(DInA, DInB, seed: 3);
        var (xa, xb) = sites.Next(n);
        var a = saeA.Encode(xa, [n]).Codes[SparseAutoencoder.CodesOutput];
        var b = saeB.Encode(xb, [n]).Codes[SparseAutoencoder.CodesOutput];
        var rowsA = new SparseRows(Width, a.Offsets, a.Indices, a.Values);
        var rowsB = new SparseRows(Width, b.Offsets, b.Indices, b.Values);

        int[] denseBest = [];
        var dense = yardstick.Time(() =>
        {
            using var scope = torch.NewDisposeScope();
            using var _ = torch.no_grad();
            var za = ZScored(rowsA);
            var zb = ZScored(rowsB);
            denseBest = new int[Width];
            const int batchColumns = 1024;   // univ_feat_geom uses 100; larger batches only make the GEMMs faster
            using Scalar count = n;
            for (int s = 0; s < Width; s += batchColumns)
            {
                using var inner = torch.NewDisposeScope();
                var corr = za.t().matmul(zb.narrow(1, s, batchColumns)).div(count);
                var (_, index) = corr.max(0);
                index.data<long>().ToArray().Select(i => (int)i).ToArray().CopyTo(denseBest, s);
            }
            return 2.0 * n * Width * Width;
        });
        BestMatches? sparse = null;
        SparsePairStatistics? stats = null;
        var sparseRun = yardstick.Time(() => sparse = SparseCorrelation.BestMatches(stats = SparsePairStatistics.FromRows(rowsA, rowsB)));
        // The same best A, or one whose exact correlation ties the best (rare features that fire on the same one or two
        // tokens correlate identically; float32 picks among them by rounding, the exact path the lower index).
        int live = 0, same = 0, tied = 0;
        for (int j = 0; j < Width; j++)
        {
            if (sparse!.DeadB[j] || sparse.BToA[j].Index < 0) continue;
            live++;
            if (sparse.BToA[j].Index == denseBest[j]) same++;
            else if (Math.Abs(stats!.Correlation(denseBest[j], j) - sparse.BToA[j].Correlation) <= 1e-6) tied++;
        }
        double fullFlops = 2.0 * 1_000_000 * Width * Width;
        double denseRate = dense.Work / dense.Seconds;
        output.Line($"dense, univ_feat_geom style, {n:N0} tokens", $"{dense.Seconds,6:F1} s  {dense.FractionOfGemm:F2} of GEMM   ({(n < fit ? "capped for time; " : "")}{fit:N0} tokens fit in half the free memory)");
        output.Line($"sparse exact on the same {n:N0} tokens", $"{sparseRun.Seconds,6:F2} s  ({dense.GemmEquivalents / sparseRun.GemmEquivalents:F0}x faster)");
        output.Line("  best A of each live B feature, dense vs exact", $"{same:N0} the same, {tied:N0} tied in exact r, {live - same - tied:N0} differ, of {live:N0}");
        output.Line("dense at 32k x 32k x 1M tokens: memory", $"{1_000_000 * perToken / 1e9:F0} GB (dense codes of both sites {2e6 * Width * 4 / 1e9:F0} GB, z-scored copies as much again)");
        output.Line("dense at 32k x 32k x 1M tokens: time", $"{fullFlops / denseRate / 3600:F1} h at this run's dense rate ({fullFlops / 1e15:F2} PFLOP)");
        if (tokens < 1_000_000) output.Note("(the sparse run above covered fewer than 1M tokens: set no SWEEP_BENCH_SCALE_TOKENS for the full size)");
    }

    /// <summary>Dense [n, width] float32 codes, each column z-scored in place: (x − mean) / (std + 1e-8), std unbiased (torch's default).</summary>
    private static torch.Tensor ZScored(SparseRows rows)
    {
        var dense = torch.zeros(rows.Rows, rows.Width);
        var span = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(dense.bytes);
        for (int t = 0; t < rows.Rows; t++)
            for (int k = rows.Offsets[t]; k < rows.Offsets[t + 1]; k++) span[t * rows.Width + rows.Indices[k]] = rows.Values[k];
        var mean = dense.mean([0L], keepdim: true);
        using Scalar eps = 1e-8;
        var std = dense.std(0, keepdim: true).add_(eps);
        return dense.sub_(mean).div_(std);
    }

    private static long AvailableBytes()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
            if (line.StartsWith("MemAvailable:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return 4L << 30;
    }
}

/// <summary>
/// Two aligned residual streams, seeded chunk after chunk: A standard normal (d_a), B = A·M·0.8 + 0.6·noise (d_b, M a
/// seeded Gaussian map scaled to keep unit variance), so B's features are partly A's in another basis.
/// </summary>
public sealed class CorrelatedSites(int dA, int dB, int seed) : IDisposable
{
    private readonly Random _random = new(seed);
    private readonly torch.Tensor _map = MakeMap(dA, dB, seed);

    private static torch.Tensor MakeMap(int dA, int dB, int seed)
    {
        var random = new Random(seed + 1000);
        var m = new float[dA * dB];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(SkewedSae.Gaussian(random) / Math.Sqrt(dA) * 0.8);
        return torch.tensor(m, [dA, dB]);
    }

    public (float[] A, float[] B) Next(int tokens)
    {
        var a = new float[tokens * dA];
        for (int i = 0; i < a.Length; i++) a[i] = (float)SkewedSae.Gaussian(_random);
        var noise = new float[tokens * dB];
        for (int i = 0; i < noise.Length; i++) noise[i] = (float)(0.6 * SkewedSae.Gaussian(_random));
        using var scope = torch.NewDisposeScope();
        var b = torch.tensor(a, [tokens, dA]).matmul(_map).add_(torch.tensor(noise, [tokens, dB]), Sweep.Models.HeldScalars.One).contiguous();
        return (a, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b.bytes).ToArray());
    }

    public void Dispose() => _map.Dispose();
}
