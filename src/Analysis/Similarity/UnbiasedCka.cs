using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

/// <summary>
/// Linear CKA with the unbiased HSIC estimator (Song et al. 2012; Kornblith et al.'s
/// <c>feature_space_linear_cka(debiased=True)</c>). Rows are items, columns units; columns centred.
/// With Xc, Yc centred and ãᵢ = ‖xcᵢ‖², b̃ᵢ = ‖ycᵢ‖²:
///   h(X, Y) = ‖XcᵀYc‖²_F − n/(n−2) Σᵢ ãᵢb̃ᵢ + (Σã)(Σb̃)/((n−1)(n−2)),
///   CKA_u = h(X, Y) / √(h(X, X) h(Y, Y)).
/// The centred row norms are expanded in uncentred moments (<see cref="RowNormMoments"/>) so it runs from
/// mergeable statistics. Needs n ≥ 4. Undefined when a side is constant, or when a self-term h(X, X) or h(Y, Y) is
/// not positive (an unbiased estimate of a non-negative quantity can fall to or below 0 when the signal is weak).
/// </summary>
public static class UnbiasedCka
{
    public static Measurement Compute(DensePairStatistics stats, RowNormMoments norms)
    {
        long n = stats.Count;
        if (n < 4) throw new ArgumentException("unbiased CKA needs at least 4 rows");
        if (ConstantSides.Reason(stats) is { } constant) return Measurement.Undefined(constant);
        var mx = Mean(stats.SumX, n);
        var my = Mean(stats.SumY, n);
        double cx = Dot(mx, mx), cy = Dot(my, my);
        double sqX = norms.SumA - n * cx, sqY = norms.SumB - n * cy;
        // Σ ãᵢ b̃ᵢ expanded: ã = a − 2x·μx + cx, b̃ = b − 2y·μy + cy.
        double sXY = norms.SumAB - 2 * Dot(my, norms.SumAY) - 2 * Dot(mx, norms.SumBX)
                     + 4 * Bilinear(mx, stats.XtY, my) + cy * norms.SumA + cx * norms.SumB - 3.0 * n * cx * cy;
        double sXX = norms.SumAA - 4 * Dot(mx, norms.SumAX) + 4 * Bilinear(mx, stats.XtX, mx) + 2 * cx * norms.SumA - 3.0 * n * cx * cx;
        double sYY = norms.SumBB - 4 * Dot(my, norms.SumBY) + 4 * Bilinear(my, stats.YtY, my) + 2 * cy * norms.SumB - 3.0 * n * cy * cy;

        double hxy = Debiased(Frobenius2(DensePairStatistics.CentredProduct(stats.XtY, stats.SumX, stats.SumY, n)), sXY, sqX, sqY, n);
        double hxx = Debiased(Frobenius2(DensePairStatistics.CentredProduct(stats.XtX, stats.SumX, stats.SumX, n)), sXX, sqX, sqX, n);
        double hyy = Debiased(Frobenius2(DensePairStatistics.CentredProduct(stats.YtY, stats.SumY, stats.SumY, n)), sYY, sqY, sqY, n);
        if (hxx <= 0 || hyy <= 0)
            return Measurement.Undefined($"the unbiased HSIC estimate of {(hxx <= 0 ? "A" : "B")} with itself is {(hxx <= 0 ? hxx : hyy):G3}, not positive: too little signal over {n} rows");
        return hxy / Math.Sqrt(hxx * hyy);
    }

    public static Measurement Compute(Linear.DenseMatrix x, Linear.DenseMatrix y) =>
        Compute(DensePairStatistics.FromMatrices(x, y), RowNormMoments.FromMatrices(x, y));

    private static double Debiased(double xty, double sumProducts, double sqX, double sqY, long n) =>
        xty - (double)n / (n - 2) * sumProducts + sqX * sqY / ((n - 1.0) * (n - 2.0));

    private static double[] Mean(double[] sum, long n) => sum.Select(s => s / n).ToArray();

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>uᵀ M v for row-major M [u.Length, v.Length].</summary>
    private static double Bilinear(double[] u, double[] m, double[] v)
    {
        double s = 0;
        for (int i = 0; i < u.Length; i++)
        {
            if (u[i] == 0) continue;
            double row = 0;
            for (int j = 0; j < v.Length; j++) row += m[i * v.Length + j] * v[j];
            s += u[i] * row;
        }
        return s;
    }

    private static double Frobenius2(double[] m)
    {
        double s = 0;
        foreach (var v in m) s += v * v;
        return s;
    }
}
