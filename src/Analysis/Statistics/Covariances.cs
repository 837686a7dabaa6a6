namespace Sweep.Analysis.Statistics;

/// <summary>
/// Sample covariances (columns centred over the rows, divided by n − 1) of a pair of matrices, from
/// their mergeable statistics: Cxx [dx, dx], Cyy [dy, dy], Cxy [dx, dy], row-major.
/// </summary>
public sealed record Covariances(int WidthX, int WidthY, long Count, double[] Xx, double[] Yy, double[] Xy)
{
    public static Covariances From(DensePairStatistics stats)
    {
        if (stats.Count < 2) throw new ArgumentException("covariances need at least 2 rows");
        double scale = 1.0 / (stats.Count - 1);
        return new Covariances(stats.WidthX, stats.WidthY, stats.Count,
            Scaled(DensePairStatistics.CentredProduct(stats.XtX, stats.SumX, stats.SumX, stats.Count), scale),
            Scaled(DensePairStatistics.CentredProduct(stats.YtY, stats.SumY, stats.SumY, stats.Count), scale),
            Scaled(DensePairStatistics.CentredProduct(stats.XtY, stats.SumX, stats.SumY, stats.Count), scale));
    }

    /// <summary>The same covariances with the roles of X and Y exchanged.</summary>
    public Covariances Swapped() => new(WidthY, WidthX, Count, Yy, Xx, Linear.Linalg.Transpose(Xy, WidthX, WidthY));

    private static double[] Scaled(double[] m, double s)
    {
        for (int i = 0; i < m.Length; i++) m[i] *= s;
        return m;
    }
}
