using static TorchSharp.torch;

namespace Sweep.Analysis.Statistics;

/// <summary>
/// Sufficient statistics of two aligned activation matrices X [n, dx] and Y [n, dy] (rows are the
/// same tokens): n, column sums, and the raw second moments XᵀX, YᵀY, XᵀY, all in float64.
/// Partials over disjoint row sets merge by addition, so any split of the rows over shards,
/// workers or retries gives the same totals (up to float64 rounding of the additions).
/// Matrices are row-major double arrays.
/// </summary>
public sealed class DensePairStatistics
{
    public int WidthX { get; }
    public int WidthY { get; }
    public long Count { get; private set; }
    public double[] SumX { get; }
    public double[] SumY { get; }
    public double[] XtX { get; }
    public double[] YtY { get; }
    public double[] XtY { get; }

    private DensePairStatistics(int widthX, int widthY, long count, double[] sumX, double[] sumY, double[] xtx, double[] yty, double[] xty)
    {
        WidthX = widthX; WidthY = widthY; Count = count;
        SumX = sumX; SumY = sumY; XtX = xtx; YtY = yty; XtY = xty;
    }

    public static DensePairStatistics Empty(int widthX, int widthY) =>
        new(widthX, widthY, 0, new double[widthX], new double[widthY],
            new double[widthX * widthX], new double[widthY * widthY], new double[widthX * widthY]);

    /// <summary>Statistics of row-major <paramref name="x"/> [rows, widthX] and <paramref name="y"/> [rows, widthY].</summary>
    public static DensePairStatistics FromRows(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int rows, int widthX, int widthY)
    {
        if (x.Length != (long)rows * widthX) throw new ArgumentException($"x holds {x.Length} values, expected {rows} x {widthX}");
        if (y.Length != (long)rows * widthY) throw new ArgumentException($"y holds {y.Length} values, expected {rows} x {widthY}");
        FiniteValues.Require(x, "A");
        FiniteValues.Require(y, "B");
        using var scope = NewDisposeScope();
        // sum(0L): a plain int literal binds to the ScalarType overload. float64 GEMMs: raw (uncentred) moments cancel badly in float32 when means are large.
        var tx = tensor(x.ToArray(), new long[] { rows, widthX }).to(float64);
        var ty = tensor(y.ToArray(), new long[] { rows, widthY }).to(float64);
        var result = new DensePairStatistics(widthX, widthY, rows,
            ToArray(tx.sum(0L)), ToArray(ty.sum(0L)),
            ToArray(tx.t().mm(tx)), ToArray(ty.t().mm(ty)), ToArray(tx.t().mm(ty)));
        return result;
    }

    /// <summary>Statistics of two float64 matrices with the same rows (items), e.g. activations or weight rows.</summary>
    public static DensePairStatistics FromMatrices(Linear.DenseMatrix x, Linear.DenseMatrix y)
    {
        if (x.Rows != y.Rows) throw new ArgumentException($"the matrices have {x.Rows} and {y.Rows} rows, expected the same items in both");
        FiniteValues.Require(x.Data, "A");
        FiniteValues.Require(y.Data, "B");
        using var scope = NewDisposeScope();
        var tx = tensor(x.Data, new long[] { x.Rows, x.Cols }, float64);
        var ty = tensor(y.Data, new long[] { y.Rows, y.Cols }, float64);
        return new DensePairStatistics(x.Cols, y.Cols, x.Rows,
            ToArray(tx.sum(0L)), ToArray(ty.sum(0L)),
            ToArray(tx.t().mm(tx)), ToArray(ty.t().mm(ty)), ToArray(tx.t().mm(ty)));
    }

    /// <summary>The statistics of the union of both row sets. Neither input changes.</summary>
    public DensePairStatistics Merge(DensePairStatistics other)
    {
        if (other.WidthX != WidthX || other.WidthY != WidthY)
            throw new ArgumentException($"cannot merge statistics of widths {WidthX}x{WidthY} and {other.WidthX}x{other.WidthY}");
        return new DensePairStatistics(WidthX, WidthY, Count + other.Count,
            Add(SumX, other.SumX), Add(SumY, other.SumY), Add(XtX, other.XtX), Add(YtY, other.YtY), Add(XtY, other.XtY));
    }

    /// <summary>Merges partials pairwise in a balanced tree (keeps rounding error growth logarithmic).</summary>
    public static DensePairStatistics MergeAll(IReadOnlyList<DensePairStatistics> partials)
    {
        if (partials.Count == 0) throw new ArgumentException("no partial statistics to merge");
        var level = partials.ToList();
        while (level.Count > 1)
        {
            var next = new List<DensePairStatistics>((level.Count + 1) / 2);
            for (int i = 0; i < level.Count; i += 2)
                next.Add(i + 1 < level.Count ? level[i].Merge(level[i + 1]) : level[i]);
            level = next;
        }
        return level[0];
    }

    /// <summary>Centred cross-product Xcᵀ Yc = XᵀY − n·mean(X)ᵀmean(Y), row-major [widthA, widthB].</summary>
    public static double[] CentredProduct(double[] raw, double[] sumA, double[] sumB, long count)
    {
        var centred = new double[raw.Length];
        int widthB = sumB.Length;
        for (int i = 0; i < sumA.Length; i++)
            for (int j = 0; j < widthB; j++)
                centred[i * widthB + j] = raw[i * widthB + j] - sumA[i] * sumB[j] / count;
        return centred;
    }

    private static double[] Add(double[] a, double[] b)
    {
        var sum = new double[a.Length];
        for (int i = 0; i < a.Length; i++) sum[i] = a[i] + b[i];
        return sum;
    }

    private static double[] ToArray(Tensor t) => t.contiguous().data<double>().ToArray();
}
