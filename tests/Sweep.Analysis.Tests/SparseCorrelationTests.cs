using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Tests;

public sealed class SparseCorrelationTests
{
    private static BestMatches Dense(SaeCodes codes, int topK = 0) =>
        DenseCorrelation.Stream(codes.A.Width, codes.B.Width,
            () => [new RowBlock(codes.A.ToDense(), codes.B.ToDense(), codes.A.Rows)], new CorrelationOptions(TopK: topK));

    private static void AssertSame(BestMatches expected, BestMatches actual, double tolerance)
    {
        Assert.True(expected.SameMatchesAs(actual), "best-match indices or dead flags differ");
        for (int i = 0; i < expected.WidthA; i++) Assert.Equal(expected.AToB[i].Correlation, actual.AToB[i].Correlation, tolerance);
        for (int j = 0; j < expected.WidthB; j++) Assert.Equal(expected.BToA[j].Correlation, actual.BToA[j].Correlation, tolerance);
    }

    [Fact]
    public void Sparse_path_gives_exactly_the_dense_best_matches_including_negative_and_dead_ones()
    {
        var generated = SaeCodes.Generate(tokens: 1500, widthA: 120, widthB: 150, concepts: 50, conceptsPerToken: 3, noisePerToken: 2, seed: 51);
        // 40 more tokens on which only A's last feature fires: it is never co-active, its best partner has r <= 0.
        var codes = generated with { A = Append(generated.A, 40, generated.A.Width - 1), B = Append(generated.B, 40, null) };
        var dense = Dense(codes, topK: 4);
        var stats = SparsePairStatistics.FromRows(codes.A, codes.B);
        Assert.InRange(stats.DenseRowsA, 1, codes.A.Width - 1);   // frequent features get dense rows, rare ones sparse: both kinds are checked
        var sparse = SparseCorrelation.BestMatches(stats, topK: 4);
        AssertSame(dense, sparse, 1e-10);
        for (int i = 0; i < dense.WidthA; i++)
            Assert.Equal(dense.TopKAToB[i].Select(m => m.Index), sparse.TopKAToB[i].Select(m => m.Index));
        // The data exercises every branch: dead features, features whose best partner is never co-active (r ≤ 0), planted pairs.
        Assert.Contains(true, sparse.DeadA);
        Assert.Contains(sparse.AToB, m => m.Index >= 0 && m.Correlation <= 0);
        int recovered = codes.MapB.Zip(codes.MapA).Count(p => sparse.BToA[p.First].Index == p.Second);
        Assert.True(recovered > 40, $"only {recovered} of 50 planted concept pairs recovered");
    }

    private static SparseRows Append(SparseRows rows, int tokens, int? feature)
    {
        var offsets = rows.Offsets.ToList();
        var indices = rows.Indices.ToList();
        var values = rows.Values.ToList();
        for (int t = 0; t < tokens; t++)
        {
            if (feature is { } f) { indices.Add(f); values.Add(1f + t % 3); }
            offsets.Add(indices.Count);
        }
        return new SparseRows(rows.Width, offsets.ToArray(), indices.ToArray(), values.ToArray());
    }

    [Fact]
    public void One_shard_or_many_in_any_merge_order_give_the_same_matches()
    {
        var codes = SaeCodes.Generate(tokens: 900, widthA: 80, widthB: 70, concepts: 40, conceptsPerToken: 3, noisePerToken: 2, seed: 52);
        var whole = SparseCorrelation.BestMatches(SparsePairStatistics.FromRows(codes.A, codes.B));
        int[] cuts = [0, 1, 200, 450, 451, 900];
        var parts = Enumerable.Range(0, cuts.Length - 1)
            .Select(k => SparsePairStatistics.FromRows(codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k])))
            .ToList();
        var tree = SparsePairStatistics.MergeAll(parts);
        var reversed = SparsePairStatistics.MergeAll(Enumerable.Reverse(parts).ToList());
        var leftFold = parts.Aggregate(SparsePairStatistics.Empty(80, 70), (acc, p) => acc.Merge(p));
        var shuffled = parts.OrderBy(p => p.Count % 7).Aggregate((acc, p) => p.Merge(acc));
        var oneProduct = SparsePairStatistics.FromBlocks(Enumerable.Range(0, cuts.Length - 1)
            .Select(k => (codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k]))).ToList());
        // Folded in place block by block, and merged consuming (rows merged in place where they have room, operands released).
        var folded = SparsePairStatistics.Empty(80, 70);
        for (int k = 0; k < cuts.Length - 1; k++) folded.Add([(codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k]))]);
        var consumed = Enumerable.Range(0, cuts.Length - 1)
            .Select(k => SparsePairStatistics.FromRows(codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k])))
            .Aggregate((acc, p) => p.MergeConsuming(acc));
        foreach (var stats in new[] { tree, reversed, leftFold, shuffled, oneProduct, folded, consumed })
        {
            Assert.Equal(900, stats.Count);
            Assert.Equal(SparsePairStatistics.FromRows(codes.A, codes.B).CoActivePairs, stats.CoActivePairs);
            AssertSame(whole, SparseCorrelation.BestMatches(stats), 1e-12);
        }
    }

    [Fact]
    public void The_measure_gives_the_same_matches_in_one_batch_or_in_many_merged_batches()
    {
        var codes = SaeCodes.Generate(tokens: 1200, widthA: 90, widthB: 110, concepts: 45, conceptsPerToken: 3, noisePerToken: 2, seed: 55);
        var blocks = Enumerable.Range(0, 12).Select(k => (codes.A.Slice(k * 100, 100), codes.B.Slice(k * 100, 100))).ToList();
        var whole = SparsePairStatistics.FromRows(codes.A, codes.B);
        var oneBatch = SparseCorrelationMeasure.Statistics(blocks);
        var manyBatches = SparseCorrelationMeasure.Statistics(blocks, batchEntries: 1500);   // a couple of blocks per batch, several partials merged
        foreach (var stats in new[] { oneBatch, manyBatches })
        {
            Assert.Equal(whole.Count, stats.Count);
            Assert.Equal(whole.CoActivePairs, stats.CoActivePairs);
            AssertSame(SparseCorrelation.BestMatches(whole), SparseCorrelation.BestMatches(stats), 1e-12);
        }
    }

    [Theory]
    [InlineData(60_000L, 0)]
    [InlineData(25_000L, 3)]
    [InlineData(1L, 2)]   // one A feature per pass
    public void Within_a_memory_budget_the_A_features_are_tiled_over_passes_and_the_matches_are_the_same(long budget, int topK)
    {
        var codes = SaeCodes.Generate(tokens: 1200, widthA: 90, widthB: 110, concepts: 45, conceptsPerToken: 4, noisePerToken: 3, seed: 57);
        var blocks = Enumerable.Range(0, 12).Select(k => (codes.A.Slice(k * 100, 100), codes.B.Slice(k * 100, 100))).ToList();
        var whole = SparsePairStatistics.FromRows(codes.A, codes.B);
        Assert.True(whole.Bytes > budget, $"the test needs pairs ({whole.Bytes} bytes) beyond the budget");
        var expected = SparseCorrelation.BestMatches(whole, topK);

        int enumerations = 0;
        var tiled = SparseCorrelationMeasure.BestMatches(() => { enumerations++; return blocks; }, topK, budget, batchEntries: 1500);
        Assert.True(tiled.Passes > 1, "the budget should force more than one pass");
        Assert.Equal(tiled.Passes, enumerations);
        Assert.Equal(whole.CoActivePairs, tiled.CoActivePairs);
        AssertSame(expected, tiled.Matches, 1e-12);
        for (int i = 0; i < expected.WidthA && topK > 0; i++)
            Assert.Equal(expected.TopKAToB[i].Select(m => m.Index), tiled.Matches.TopKAToB[i].Select(m => m.Index));

        var roomy = SparseCorrelationMeasure.BestMatches(() => blocks, topK, budgetBytes: 1L << 30, batchEntries: 1500);
        Assert.Equal(1, roomy.Passes);
        AssertSame(expected, roomy.Matches, 1e-12);
    }

    [Fact]
    public void Malformed_sparse_rows_are_rejected()
    {
        var unsorted = new SparseRows(10, [0, 2], [5, 3], [1f, 1f]);
        var negative = new SparseRows(10, [0, 1], [5], [-1f]);
        var ok = new SparseRows(10, [0, 1], [5], [1f]);
        Assert.Throws<ArgumentException>(() => SparsePairStatistics.FromRows(unsorted, ok));
        Assert.Throws<ArgumentException>(() => SparsePairStatistics.FromRows(ok, negative));
        Assert.Throws<ArgumentException>(() => SparsePairStatistics.Empty(10, 10).Merge(SparsePairStatistics.Empty(10, 11)));
    }

    /// <summary>
    /// 32768 x 32768 features over 16384 tokens: a dense correlation matrix (8.6 GB) and each side's dense
    /// activations (2 GB) are far over the 256 MB budget; the sparse statistics stay inside it. Sampled
    /// A features are checked against their exact correlation with every B feature, computed column-wise.
    /// </summary>
    [Fact]
    public void A_32k_by_32k_sparse_correlation_runs_inside_a_budget_the_dense_matrix_exceeds()
    {
        const int width = 32768, tokens = 16384;
        const long budget = 256L << 20;
        var codes = SaeCodes.Generate(tokens, width, width, concepts: 20000, conceptsPerToken: 6, noisePerToken: 4, seed: 53);
        Assert.True((long)width * width * 8 > budget && (long)tokens * width * 4 > budget);

        var stats = SparsePairStatistics.MergeAll(Enumerable.Range(0, 4)
            .Select(k => SparsePairStatistics.FromRows(codes.A.Slice(k * tokens / 4, tokens / 4), codes.B.Slice(k * tokens / 4, tokens / 4))).ToList());
        long finishing = SparseCorrelation.WorkingBytes(width, width);
        Assert.True(stats.Bytes + finishing < budget, $"sparse statistics take {stats.Bytes + finishing} bytes");
        var matches = SparseCorrelation.BestMatches(stats);

        var rng = new Random(54);
        foreach (var a in Enumerable.Range(0, 6).Select(_ => codes.MapA[rng.Next(2000)]))
        {
            var (best, r) = ExactBest(codes, a);
            Assert.Equal(best, matches.AToB[a].Index);
            Assert.Equal(r, matches.AToB[a].Correlation, 1e-9);
        }
        int recovered = Enumerable.Range(0, 2000).Count(c => matches.BToA[codes.MapB[c]].Index == codes.MapA[c]);
        Assert.True(recovered > 1900, $"{recovered} of the 2000 most frequent concepts recovered");
    }

    /// <summary>Best live B feature for A feature <paramref name="a"/> from its dense column against every B feature (O(nnz_B)).</summary>
    private static (int Index, double R) ExactBest(SaeCodes codes, int a)
    {
        int n = codes.A.Rows, wb = codes.B.Width;
        var x = new double[n];
        for (int t = 0; t < n; t++)
            for (int k = codes.A.Offsets[t]; k < codes.A.Offsets[t + 1]; k++) if (codes.A.Indices[k] == a) x[t] = codes.A.Values[k];
        double mx = x.Average(), vx = x.Sum(v => (v - mx) * (v - mx));
        var sum = new double[wb]; var sq = new double[wb]; var cross = new double[wb];
        for (int t = 0; t < n; t++)
            for (int k = codes.B.Offsets[t]; k < codes.B.Offsets[t + 1]; k++)
            {
                int j = codes.B.Indices[k]; double v = codes.B.Values[k];
                sum[j] += v; sq[j] += v * v; cross[j] += (x[t] - mx) * v;
            }
        int best = -1; double bestR = 0;
        for (int j = 0; j < wb; j++)
        {
            double vy = sq[j] - sum[j] * sum[j] / n;
            if (vy <= 1e-12 * sq[j] || vy <= 0) continue;
            double r = cross[j] / Math.Sqrt(vx * vy);
            if (best < 0 || r > bestR) { best = j; bestR = r; }
        }
        return (best, bestR);
    }
}
