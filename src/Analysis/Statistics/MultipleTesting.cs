namespace Sweep.Analysis.Statistics;

/// <summary>Corrections of a family of p-values for multiple comparisons.</summary>
public static class MultipleTesting
{
    /// <summary>
    /// Benjamini–Hochberg adjusted p-values (q-values; false discovery rate): with the m defined p-values sorted
    /// ascending, q₍ᵢ₎ = min over j ≥ i of min(1, m·p₍ⱼ₎/j). NaN entries (undefined tests) are not counted in m and
    /// stay NaN. As statsmodels' <c>multipletests(method="fdr_bh")</c> computes it.
    /// </summary>
    public static double[] BenjaminiHochberg(IReadOnlyList<double> p)
    {
        var q = Enumerable.Repeat(double.NaN, p.Count).ToArray();
        var order = Enumerable.Range(0, p.Count).Where(i => !double.IsNaN(p[i]))
            .OrderBy(i => p[i]).ThenBy(i => i).ToArray();
        int m = order.Length;
        double running = 1;
        for (int rank = m; rank >= 1; rank--)
        {
            int i = order[rank - 1];
            if (p[i] < 0 || p[i] > 1) throw new ArgumentOutOfRangeException(nameof(p), p[i], "a p-value outside [0, 1]");
            running = Math.Min(running, p[i] * m / rank);
            q[i] = running;
        }
        return q;
    }
}
