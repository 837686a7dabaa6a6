using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

/// <summary>
/// Orthogonal Procrustes distance (Williams et al. 2021, ReSi's "orthogonal Procrustes"). Rows are items,
/// columns units; each side is centred per column and scaled to unit Frobenius norm, the narrower side
/// padded with zero columns; then
///   d = min over orthogonal R of ‖X̂R − Ŷ‖_F = √(2 − 2‖X̂ᵀŶ‖_*),
/// with ‖·‖_* the nuclear norm. 0 for identical shapes up to rotation and scale; at most 2.
/// Runs from mergeable statistics (X̂ᵀŶ = XcᵀYc / (‖Xc‖_F‖Yc‖_F)). Undefined when a side is constant (it cannot be
/// scaled to unit norm).
/// </summary>
public static class Procrustes
{
    public static Measurement Compute(DensePairStatistics stats)
    {
        if (stats.Count < 2) throw new ArgumentException("Procrustes needs at least 2 rows");
        if (ConstantSides.Reason(stats) is { } constant) return Measurement.Undefined(constant);
        var cross = DensePairStatistics.CentredProduct(stats.XtY, stats.SumX, stats.SumY, stats.Count);
        double normX = Trace(DensePairStatistics.CentredProduct(stats.XtX, stats.SumX, stats.SumX, stats.Count), stats.WidthX);
        double normY = Trace(DensePairStatistics.CentredProduct(stats.YtY, stats.SumY, stats.SumY, stats.Count), stats.WidthY);
        double nuclear = Linalg.SingularValues(cross, stats.WidthX, stats.WidthY).Sum() / Math.Sqrt(normX * normY);
        return Math.Sqrt(Math.Max(0.0, 2.0 - 2.0 * nuclear));
    }

    public static Measurement Compute(DenseMatrix x, DenseMatrix y) => Compute(DensePairStatistics.FromMatrices(x, y));

    private static double Trace(double[] m, int d)
    {
        double t = 0;
        for (int i = 0; i < d; i++) t += m[i * d + i];
        return t;
    }
}
