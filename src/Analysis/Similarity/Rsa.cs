using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

public enum InnerDissimilarity { Correlation, Cosine, Euclidean }

/// <summary>
/// Representational similarity analysis (Kriegeskorte et al. 2008). Rows are items (the same items in
/// both matrices), columns units; no centring beyond what the inner measure does. Each side gives a
/// representational dissimilarity matrix over item pairs i &lt; j (scipy's pdist order) with the inner
/// measure — correlation distance 1 − r(xᵢ, xⱼ) (rows centred), cosine distance 1 − cos, or euclidean —
/// and RSA is the outer correlation (Spearman, Pearson or Kendall τ-b) of the two upper triangles.
/// A constant row (up to rounding) has correlation/cosine distance 1 to every other row (scipy gives NaN there).
/// Undefined when a side is constant (every item the same) or its dissimilarities are all equal (nothing to rank).
/// Needs all rows at once: O(n² (dx + dy)) time and O(n²) memory, so jobs pass a bounded item sample.
/// </summary>
public static class Rsa
{
    public static Measurement Compute(DenseMatrix x, DenseMatrix y, InnerDissimilarity inner = InnerDissimilarity.Correlation,
        OuterCorrelation outer = OuterCorrelation.Spearman)
    {
        if (x.Rows != y.Rows) throw new ArgumentException($"RSA needs the same items on both sides, got {x.Rows} and {y.Rows} rows");
        if (x.Rows < 3) throw new ArgumentException("RSA needs at least 3 items");
        FiniteValues.Require(x.Data, "A");
        FiniteValues.Require(y.Data, "B");
        if (ConstantSides.Reason(x, y) is { } constant) return Measurement.Undefined(constant);
        var dx = Dissimilarities(x, inner);
        var dy = Dissimilarities(y, inner);
        if (AllEqual(dx) || AllEqual(dy))
            return Measurement.Undefined($"every pair of {(AllEqual(dx) ? "A" : "B")}'s {x.Rows} items is equally dissimilar ({inner.ToString().ToLowerInvariant()} distance), so there is nothing to rank");
        return RankCorrelation.Compute(dx, dy, outer);
    }

    private static bool AllEqual(double[] values) => values.All(v => v == values[0]);

    /// <summary>Upper triangle (i &lt; j, row-major order) of the dissimilarity matrix of the rows.</summary>
    public static double[] Dissimilarities(DenseMatrix m, InnerDissimilarity inner)
    {
        var rows = Prepare(m, inner);
        int n = m.Rows, d = m.Cols;
        var result = new double[(long)n * (n - 1) / 2];
        long k = 0;
        for (int i = 0; i < n; i++)
        {
            var ri = rows.AsSpan(i * d, d);
            for (int j = i + 1; j < n; j++)
            {
                var rj = rows.AsSpan(j * d, d);
                double s = 0;
                if (inner == InnerDissimilarity.Euclidean)
                {
                    for (int c = 0; c < d; c++) { double diff = ri[c] - rj[c]; s += diff * diff; }
                    result[k++] = Math.Sqrt(s);
                }
                else
                {
                    for (int c = 0; c < d; c++) s += ri[c] * rj[c];
                    result[k++] = 1.0 - s;
                }
            }
        }
        return result;
    }

    /// <summary>Rows made ready for a dot product: centred (correlation) and unit-normalised (correlation, cosine).</summary>
    private static double[] Prepare(DenseMatrix m, InnerDissimilarity inner)
    {
        var rows = (double[])m.Data.Clone();
        if (inner == InnerDissimilarity.Euclidean) return rows;
        int d = m.Cols;
        for (int i = 0; i < m.Rows; i++)
        {
            var r = rows.AsSpan(i * d, d);
            double raw = 0;
            foreach (var v in r) raw += v * v;
            if (inner == InnerDissimilarity.Correlation)
            {
                double mean = 0;
                foreach (var v in r) mean += v;
                mean /= d;
                for (int c = 0; c < d; c++) r[c] -= mean;
            }
            double norm = 0;
            foreach (var v in r) norm += v * v;
            // A row that is constant up to rounding centres to noise, not to a direction: treat it as exactly constant.
            bool zero = ConstantSides.IsZero(norm, raw);
            norm = Math.Sqrt(norm);
            for (int c = 0; c < d; c++) r[c] = zero ? 0.0 : r[c] / norm;
        }
        return rows;
    }
}
