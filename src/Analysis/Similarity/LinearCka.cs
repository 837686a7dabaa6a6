using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

/// <summary>
/// Linear centred kernel alignment (Kornblith et al. 2019), rows are the same items (tokens) in both
/// matrices, columns are units; each column is centred over the rows:
///   CKA(X, Y) = ‖XcᵀYc‖²_F / (‖XcᵀXc‖_F · ‖YcᵀYc‖_F).
/// It is invariant to orthogonal transforms and isotropic scaling of either side, and is 1 for X = Y.
/// Undefined when a side is constant (<see cref="ConstantSides"/>): the denominator is zero.
/// </summary>
public static class LinearCka
{
    public static Measurement Compute(DensePairStatistics stats)
    {
        if (stats.Count < 2) throw new ArgumentException("linear CKA needs at least 2 rows");
        if (ConstantSides.Reason(stats) is { } constant) return Measurement.Undefined(constant);
        double cross = SquaredFrobenius(DensePairStatistics.CentredProduct(stats.XtY, stats.SumX, stats.SumY, stats.Count));
        double selfX = Math.Sqrt(SquaredFrobenius(DensePairStatistics.CentredProduct(stats.XtX, stats.SumX, stats.SumX, stats.Count)));
        double selfY = Math.Sqrt(SquaredFrobenius(DensePairStatistics.CentredProduct(stats.YtY, stats.SumY, stats.SumY, stats.Count)));
        return cross / (selfX * selfY);
    }

    private static double SquaredFrobenius(double[] matrix)
    {
        double sum = 0;
        foreach (var v in matrix) sum += v * v;
        return sum;
    }
}
