using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

/// <summary>
/// A side whose rows are all the same (zero variance in every column) has no geometry: CKA, SVCCA, PWCCA,
/// Procrustes, RSA and kNN are undefined against it, whatever formula would give. "Zero" allows for rounding:
/// the centred sum of squares Σ‖xᵢ − x̄‖² counts as zero when it is at most <see cref="Tolerance"/> times the raw
/// Σ‖xᵢ‖², since XᵀX − n·x̄x̄ᵀ from float64 sums of float32 values keeps about n·10⁻¹⁶ of the raw moment as noise.
/// </summary>
public static class ConstantSides
{
    public const double Tolerance = 1e-10;

    /// <summary>The reason a pair is undefined because a side is constant, or null when both vary.</summary>
    public static string? Reason(DensePairStatistics stats) =>
        Reason("A", Centred(stats.XtX, stats.SumX, stats.Count), Raw(stats.XtX, stats.WidthX), stats.Count)
        ?? Reason("B", Centred(stats.YtY, stats.SumY, stats.Count), Raw(stats.YtY, stats.WidthY), stats.Count);

    /// <summary>The same for two row-major matrices with the same rows (items).</summary>
    public static string? Reason(DenseMatrix x, DenseMatrix y) => Reason("A", x) ?? Reason("B", y);

    public static string? Reason(string side, DenseMatrix m)
    {
        double centred = 0, raw = 0;
        for (int c = 0; c < m.Cols; c++)
        {
            double mean = 0;
            for (int r = 0; r < m.Rows; r++) mean += m[r, c];
            mean /= m.Rows;
            for (int r = 0; r < m.Rows; r++)
            {
                double v = m[r, c];
                centred += (v - mean) * (v - mean);
                raw += v * v;
            }
        }
        return Reason(side, centred, raw, m.Rows);
    }

    /// <summary>Whether a centred sum of squares is zero up to rounding, relative to its raw sum of squares.</summary>
    public static bool IsZero(double centred, double raw) => raw <= 0 || centred <= Tolerance * raw;

    private static string? Reason(string side, double centred, double raw, long rows) =>
        IsZero(centred, raw) ? $"{side} is constant: every one of its {rows} rows is the same, so it has no variance to compare" : null;

    // trace(XᵀX) − ‖Σx‖²/n = Σᵢ‖xᵢ − x̄‖²
    private static double Centred(double[] xtx, double[] sum, long n)
    {
        double s = Raw(xtx, sum.Length);
        foreach (var v in sum) s -= v * v / n;
        return s;
    }

    private static double Raw(double[] xtx, int d)
    {
        double t = 0;
        for (int i = 0; i < d; i++) t += xtx[(long)i * d + i];
        return t;
    }
}
