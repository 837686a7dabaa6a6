using Sweep.Analysis.Measures;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Matching;

namespace Sweep.Analysis.Tests;

/// <summary>The pieces SAE-site analyses add: per-feature top activations (mergeable heaps), pairwise r of sparse statistics, the streamed tree merge of shard statistics.</summary>
public sealed class TopActivationsTests
{
    [Fact]
    public void Top_activations_equal_a_full_sort_for_any_split_and_merge_order()
    {
        var codes = SaeCodes.Generate(tokens: 600, widthA: 40, widthB: 30, concepts: 20, conceptsPerToken: 3, noisePerToken: 2, seed: 11);
        var a = codes.A;
        var rng = new Random(2);
        // Few distinct token ids and repeated values, so ties on value are decided by item id.
        var tokens = Enumerable.Range(0, a.Rows).Select(_ => rng.Next(50)).ToArray();
        var values = a.Values.Select(v => MathF.Round(v, 1)).ToArray();
        var items = Enumerable.Range(0, a.Rows).Select(r => 1000L + 7 * r).ToArray();
        const int k = 5;

        TopActivations Block(int from, int count)
        {
            var slice = new SparseRows(a.Width, a.Offsets, a.Indices, values).Slice(from, count);
            var top = new TopActivations(a.Width, k);
            top.AddRows(slice.Offsets, slice.Indices, slice.Values, tokens[from..(from + count)], items[from..(from + count)]);
            return top;
        }
        var whole = Block(0, a.Rows);
        var merged = Block(400, 200).Merge(Block(0, 150).Merge(Block(150, 250)));

        var dense = new SparseRows(a.Width, a.Offsets, a.Indices, values).ToDense();
        for (int f = 0; f < a.Width; f++)
        {
            var expected = Enumerable.Range(0, a.Rows).Where(r => dense[r * a.Width + f] > 0)
                .OrderByDescending(r => dense[r * a.Width + f]).ThenBy(r => items[r]).Take(k)
                .Select(r => new Activation(dense[r * a.Width + f], tokens[r], items[r])).ToList();
            Assert.Equal(expected, whole.Of(f));
            Assert.Equal(expected, merged.Of(f));
        }
        Assert.Equal(whole.Tokens(t => $"#{t}"), merged.Tokens(t => $"#{t}"));
    }

    [Fact]
    public void Pairwise_correlation_of_sparse_statistics_equals_pearson_on_the_dense_codes()
    {
        var codes = SaeCodes.Generate(tokens: 500, widthA: 24, widthB: 20, concepts: 10, conceptsPerToken: 2, noisePerToken: 1, seed: 5);
        var stats = SparsePairStatistics.FromRows(codes.A.Slice(0, 200), codes.B.Slice(0, 200))
            .Merge(SparsePairStatistics.FromRows(codes.A.Slice(200, 300), codes.B.Slice(200, 300)));
        float[] x = codes.A.ToDense(), y = codes.B.ToDense();
        int n = codes.A.Rows;
        var covariances = Covariance(x, 24, y, 20, n);
        for (int i = 0; i < 24; i++)
            for (int j = 0; j < 20; j++)
                Assert.Equal(covariances(i, j), stats.Correlation(i, j), 1e-9);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(8)]
    public void Streamed_tree_merge_of_shards_gives_the_matches_of_one_block(int shards)
    {
        var codes = SaeCodes.Generate(tokens: 700, widthA: 48, widthB: 40, concepts: 20, conceptsPerToken: 3, noisePerToken: 2, seed: 8);
        var bounds = Enumerable.Range(0, shards + 1).Select(s => 700 * s / shards).ToArray();
        var blocks = Enumerable.Range(0, shards).Select(s => (codes.A.Slice(bounds[s], bounds[s + 1] - bounds[s]), codes.B.Slice(bounds[s], bounds[s + 1] - bounds[s])));
        var streamed = SparseCorrelationMeasure.Statistics(blocks);
        var whole = SparsePairStatistics.FromRows(codes.A, codes.B);
        Assert.Equal(whole.Count, streamed.Count);
        Assert.True(SparseCorrelation.BestMatches(whole).SameMatchesAs(SparseCorrelation.BestMatches(streamed)));
        var measure = new CodeCorrelationMeasure();
        var result = measure.Finish(measure.DefaultParameters, new MeasureShape(48, 40, SiteData.Sparse), [new CodeStatistics(streamed)], SideInputs.None);
        Assert.Equal(["correlation_mean_best_a_to_b", "correlation_mean_best_b_to_a", "correlation_mutual_pairs"], result.Values.Select(v => v.Measure));
    }

    /// <summary>Two-pass Pearson r (0 for a constant feature).</summary>
    private static Func<int, int, double> Covariance(float[] x, int wx, float[] y, int wy, int n) => (i, j) =>
    {
        double mx = Enumerable.Range(0, n).Average(r => (double)x[r * wx + i]), my = Enumerable.Range(0, n).Average(r => (double)y[r * wy + j]);
        double sxy = 0, sxx = 0, syy = 0;
        for (int r = 0; r < n; r++)
        {
            double dx = x[r * wx + i] - mx, dy = y[r * wy + j] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    };
}
