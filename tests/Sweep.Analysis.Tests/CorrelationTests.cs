using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests;

public sealed class CorrelationTests
{
    private static IEnumerable<RowBlock> Blocks(float[] a, float[] b, int rows, int widthA, int widthB, params int[] cuts)
    {
        int from = 0;
        foreach (var to in cuts.Append(rows))
        {
            yield return new RowBlock(a[(from * widthA)..(to * widthA)], b[(from * widthB)..(to * widthB)], to - from);
            from = to;
        }
    }

    [Fact]
    public void Best_matches_match_numpy_corrcoef_with_dead_features_reported()
    {
        var (x, y) = TestData.SharedLatent(n: 200, dx: 30, dy: 25, latent: 12, seed: 41);
        // Kill a column on each side: constant over every row.
        for (int i = 0; i < x.Rows; i++) { x.Data[i * x.Cols + 4] = 1.5; y.Data[i * y.Cols + 7] = 0; }
        var matches = DenseCorrelation.Stream(x.Cols, y.Cols,
            () => Blocks(x.ToFloats(), y.ToFloats(), x.Rows, x.Cols, y.Cols, 50, 51, 130),
            new CorrelationOptions(MemoryBudgetBytes: CorrelationOptions.BytesPerColumn(x.Cols) * 4)); // 4-column tiles
        // Float32 inputs on both sides: x.ToFloats() rounds; the reference sees the same float32 values.
        var x32 = DenseMatrix.FromFloats(x.ToFloats(), x.Rows, x.Cols);
        var y32 = DenseMatrix.FromFloats(y.ToFloats(), y.Rows, y.Cols);
        var reference32 = PythonReference.Run("similarity.py", x32, y32, new { matches = true });
        Assert.Equal(reference32.GetProperty("a_to_b").EnumerateArray().Select(e => e.GetInt32()), matches.AToB.Select(m => m.Index));
        Assert.Equal(reference32.GetProperty("b_to_a").EnumerateArray().Select(e => e.GetInt32()), matches.BToA.Select(m => m.Index));
        var values = reference32.GetProperty("a_val").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        for (int i = 0; i < values.Length; i++) Assert.Equal(values[i], matches.AToB[i].Correlation, 1e-9);
        Assert.True(matches.DeadA[4] && matches.DeadB[7]);
        Assert.Equal(1, matches.DeadA.Count(d => d));
        Assert.Equal(1, matches.DeadB.Count(d => d));
        Assert.Equal(new Match(-1, 0), matches.AToB[4]);
        Assert.DoesNotContain(matches.BToA, m => m.Index == 4);
        Assert.DoesNotContain(matches.AToB, m => m.Index == 7 || double.IsNaN(m.Correlation));
    }

    [Fact]
    public void Tiles_blocks_and_statistics_agree_and_float32_GEMMs_keep_the_matches()
    {
        var (x, y) = TestData.SharedLatent(n: 300, dx: 40, dy: 33, latent: 16, seed: 42);
        var (xf, yf) = (x.ToFloats(), y.ToFloats());
        var fromStats = DenseCorrelation.FromStatistics(DensePairStatistics.FromRows(xf, yf, x.Rows, x.Cols, y.Cols),
            new CorrelationOptions(MemoryBudgetBytes: CorrelationOptions.BytesPerColumn(x.Cols) * 5, TopK: 3));
        var oneTile = DenseCorrelation.Stream(x.Cols, y.Cols, () => Blocks(xf, yf, x.Rows, x.Cols, y.Cols), new CorrelationOptions(TopK: 3));
        var manyTiles = DenseCorrelation.Stream(x.Cols, y.Cols, () => Blocks(xf, yf, x.Rows, x.Cols, y.Cols, 10, 200).Reverse(),
            new CorrelationOptions(MemoryBudgetBytes: CorrelationOptions.BytesPerColumn(x.Cols) * 7, TopK: 3));
        var float32 = DenseCorrelation.Stream(x.Cols, y.Cols, () => Blocks(xf, yf, x.Rows, x.Cols, y.Cols, 150),
            new CorrelationOptions(TopK: 3, Precision: GemmPrecision.Float32));
        foreach (var other in new[] { oneTile, manyTiles, float32 })
        {
            Assert.True(fromStats.SameMatchesAs(other));
            double tolerance = ReferenceEquals(other, float32) ? 1e-5 : 1e-10;
            for (int i = 0; i < x.Cols; i++)
            {
                Assert.Equal(fromStats.AToB[i].Correlation, other.AToB[i].Correlation, tolerance);
                Assert.Equal(fromStats.TopKAToB[i].Select(m => m.Index), other.TopKAToB[i].Select(m => m.Index));
            }
        }
        Assert.All(fromStats.TopKAToB, top => Assert.Equal(3, top.Length));
        Assert.All(fromStats.TopKAToB.Zip(fromStats.AToB), p => Assert.Equal(p.Second, p.First[0]));
    }

    [Fact]
    public void A_budget_too_small_for_one_column_is_refused()
    {
        var options = new CorrelationOptions(MemoryBudgetBytes: 1000);
        Assert.Throws<ArgumentException>(() => options.TileWidth(widthA: 1000, widthB: 10));
    }

    [Fact]
    public void Mutual_pairs_are_each_others_best()
    {
        var (x, y) = TestData.SharedLatent(n: 150, dx: 12, dy: 12, latent: 12, seed: 43, noise: 0.05);
        var m = DenseCorrelation.FromStatistics(DensePairStatistics.FromMatrices(x, y));
        var mutual = m.MutualPairs();
        Assert.NotEmpty(mutual);
        Assert.All(mutual, p => Assert.True(m.AToB[p.A].Index == p.B && m.BToA[p.B].Index == p.A));
    }
}
