using Sweep.Analysis.Correlation;

namespace Sweep.Bench;

/// <summary>
/// Feature correlation, measured side by side: (1) the dense tiled path's useful GEMM throughput
/// (2·N·FA·FB flop for the cross products) as a fraction of the neighbouring GEMMs' rate (goal ≥ 0.7);
/// (2) the sparse exact path's speed-up over the dense path on SAE-like codes at 1% density, with the
/// matches of both compared (goal ≥ 50x, identical matches).
/// </summary>
public sealed class CorrelationBenchmark : IBenchmark
{
    public string Name => "correlation";
    public string Description => "dense correlation throughput vs GEMM; sparse exact path speed-up at 1% density";

    public void Run(BenchmarkOutput output)
    {
        using var yardstick = new Yardstick();

        // Blocks the size of a default corpus shard (64 sequences x 128 tokens): per-block work is O(rows x width), the GEMM O(rows x width²).
        const int denseWidth = 2048, denseRows = 16384, blockRows = 8192;
        var blocks = Enumerable.Range(0, denseRows / blockRows).Select(b => DenseBlock(blockRows, denseWidth, denseWidth, seed: b)).ToList();
        foreach (var precision in new[] { GemmPrecision.Float32, GemmPrecision.Float64 })
        {
            var options = new CorrelationOptions(MemoryBudgetBytes: 1L << 30, Precision: precision);
            DenseCorrelation.Stream(denseWidth, denseWidth, () => blocks.Take(1), options); // warm-up
            var runs = yardstick.Repeat(3, () =>
            {
                DenseCorrelation.Stream(denseWidth, denseWidth, () => blocks, options);
                return 2.0 * denseRows * denseWidth * denseWidth;
            });
            output.Line($"dense {denseWidth}x{denseWidth}, {denseRows} tokens, {precision}", $"{runs.FractionOfGemm.Format(unit: " of GEMM")} ({runs.Seconds.Median:F2} s)", runs);
        }

        // Enough tokens that co-active pairs repeat, as they do in real SAE codes: the sparse cost is then the
        // per-token products, not the number of distinct pairs.
        const int width = 2048, tokens = 65536, active = width / 100, shards = 8;
        var codes = Enumerable.Range(0, shards).Select(b => SparseBlock(tokens / shards, width, active, seed: 100 + b)).ToList();
        BestMatches? sparse = null, dense = null;
        // The reducer's path: blocks gathered into one batch (one sparse product over its tokens), then exact best matches.
        var sparseRuns = yardstick.Repeat(5, () => sparse = SparseCorrelation.BestMatches(SparseCorrelationMeasure.Statistics(codes)));
        // For comparison: one product per shard, each folded in (what a reducer does with batches of one shard).
        var mergedRuns = yardstick.Repeat(3, () => SparseCorrelation.BestMatches(SparseCorrelationMeasure.Statistics(codes, batchEntries: 1)));
        var denseCodes = codes.Select(c => new RowBlock(c.A.ToDense(), c.B.ToDense(), c.A.Rows)).ToList();
        var denseRuns = yardstick.Repeat(3, () => dense = DenseCorrelation.Stream(width, width, () => denseCodes,
            new CorrelationOptions(MemoryBudgetBytes: 1L << 30, Precision: GemmPrecision.Float32)));
        int differing = dense!.AToB.Zip(sparse!.AToB).Count(p => p.First.Index != p.Second.Index)
                        + dense.BToA.Zip(sparse.BToA).Count(p => p.First.Index != p.Second.Index);
        output.Line($"sparse {width}x{width}, {tokens} tokens, 1% density", $"{sparseRuns.GemmEquivalents.Format(unit: " GEMMs")} ({sparseRuns.Seconds.Median * 1e3:F0} ms)", sparseRuns);
        output.Line("  folded shard by shard (a product per shard)", $"{mergedRuns.GemmEquivalents.Format(unit: " GEMMs")} ({mergedRuns.Seconds.Median * 1e3:F0} ms)", mergedRuns);
        output.Line("dense (float32 GEMM) on the same codes", $"{denseRuns.GemmEquivalents.Format(unit: " GEMMs")} ({denseRuns.Seconds.Median:F2} s)", denseRuns);
        output.Line("sparse speed-up over dense (goal >= 50x)", $"{Ratio(denseRuns, sparseRuns, "F0")}x, matches {(differing == 0 ? "identical" : $"differ for {differing} features")}");
    }

    /// <summary>The ratio of two subjects' GEMM-normalised times (medians), with the widest range their spreads allow.</summary>
    internal static string Ratio(Samples numerator, Samples denominator, string number = "F2")
    {
        var (n, d) = (numerator.GemmEquivalents, denominator.GemmEquivalents);
        return $"{(n.Median / d.Median).ToString(number)} [{(n.Min / d.Max).ToString(number)}–{(n.Max / d.Min).ToString(number)}]";
    }

    private static RowBlock DenseBlock(int rows, int widthA, int widthB, int seed)
    {
        var rng = new Random(seed);
        var a = new float[rows * widthA];
        var b = new float[rows * widthB];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1) + 0.5f * a[i % a.Length];
        return new RowBlock(a, b, rows);
    }

    /// <summary>
    /// SAE-like codes: every feature of A is a concept with a partner feature of B (a fixed permutation);
    /// each token fires <paramref name="active"/> concepts on A, and on B each partner fires with probability
    /// 0.8 at an independent magnitude, plus a few unrelated B features.
    /// </summary>
    private static (SparseRows A, SparseRows B) SparseBlock(int tokens, int width, int active, int seed)
    {
        var rng = new Random(seed);
        var partner = Enumerable.Range(0, width).ToArray();
        new Random(7).Shuffle(partner);
        var (aOff, aIdx, aVal) = (new List<int> { 0 }, new List<int>(), new List<float>());
        var (bOff, bIdx, bVal) = (new List<int> { 0 }, new List<int>(), new List<float>());
        var aToken = new SortedDictionary<int, float>();
        var bToken = new SortedDictionary<int, float>();
        for (int t = 0; t < tokens; t++)
        {
            aToken.Clear(); bToken.Clear();
            while (aToken.Count < active)
            {
                int c = rng.Next(width);
                if (aToken.ContainsKey(c)) continue;
                aToken[c] = (float)(0.1 + 4 * rng.NextDouble());
                if (rng.NextDouble() < 0.8) bToken[partner[c]] = (float)(0.1 + 4 * rng.NextDouble());
            }
            for (int k = 0; k < active / 10; k++) bToken[rng.Next(width)] = (float)rng.NextDouble();
            foreach (var (f, v) in aToken) { aIdx.Add(f); aVal.Add(v); }
            foreach (var (f, v) in bToken) { bIdx.Add(f); bVal.Add(v); }
            aOff.Add(aIdx.Count); bOff.Add(bIdx.Count);
        }
        return (new SparseRows(width, aOff.ToArray(), aIdx.ToArray(), aVal.ToArray()), new SparseRows(width, bOff.ToArray(), bIdx.ToArray(), bVal.ToArray()));
    }
}
