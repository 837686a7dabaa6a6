using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Concepts;

/// <summary>
/// A principal component analysis of n items (rows) in d dimensions: <see cref="Loadings"/> [k × d] row-major (the unit
/// component vectors), the variance along each (<see cref="ExplainedVariance"/>, divided by n − 1 as sklearn does), its
/// share of the total variance (<see cref="ExplainedVarianceRatio"/>, the total being the trace of the covariance, all
/// components counted), and each item's coordinates [n × k] on the components (centred items projected).
/// </summary>
public sealed record PcaResult(int Items, int Dimensions, int Components, double[] Mean, double[] Loadings,
    double[] ExplainedVariance, double[] ExplainedVarianceRatio, double TotalVariance, double[] Coordinates)
{
    public double Coordinate(int item, int component) => Coordinates[(long)item * Components + component];
    public ReadOnlySpan<double> Loading(int component) => Loadings.AsSpan(component * Dimensions, Dimensions);
}

/// <summary>
/// PCA by the eigendecomposition of the smaller of the two Gram matrices of the centred data Xc (columns centred over
/// the items): Xc·Xcᵀ (n × n) when n ≤ d — then a component is Xcᵀu/‖Xcᵀu‖ — or Xcᵀ·Xc (d × d) otherwise, all in float64.
/// The leading components equal sklearn's <c>PCA</c> (full SVD) to rounding for well-separated eigenvalues.
/// <list type="bullet">
/// <item>Components kept: at most the requested k, n − 1 and d, and only those whose eigenvalue exceeds 10⁻¹² of the
/// largest (a rank-deficient set of items has fewer directions than asked).</item>
/// <item><b>Sign convention</b>: each component is flipped so that its largest-magnitude loading is positive (ties: the lower
/// dimension) — sklearn's <c>svd_flip</c> on the component vectors. Coordinates follow the flip.</item>
/// </list>
/// Fewer than two items, or non-finite values, are errors.
/// </summary>
public static class Pca
{
    public static PcaResult Fit(DenseMatrix items, int components)
    {
        int n = items.Rows, d = items.Cols;
        if (n < 2) throw new ArgumentException($"PCA needs at least two items, got {n}");
        if (components < 1) throw new ArgumentOutOfRangeException(nameof(components), components, "expected at least one component");
        foreach (var v in items.Data)
            if (!double.IsFinite(v)) throw new ArgumentException("PCA input holds a non-finite value");

        var mean = new double[d];
        for (int i = 0; i < n; i++)
        {
            var row = items.Row(i);
            for (int j = 0; j < d; j++) mean[j] += row[j];
        }
        for (int j = 0; j < d; j++) mean[j] /= n;
        var centred = new double[(long)n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) centred[(long)i * d + j] = items.Data[(long)i * d + j] - mean[j];

        double total = 0;
        foreach (var v in centred) total += v * v;   // trace of Xcᵀ·Xc = Σ eigenvalues

        bool gramOfItems = n <= d;
        var gram = gramOfItems
            ? Linalg.Multiply(centred, Linalg.Transpose(centred, n, d), n, d, n)
            : Linalg.Multiply(Linalg.Transpose(centred, n, d), centred, d, n, d);
        int size = gramOfItems ? n : d;
        var (values, vectors) = Linalg.SymmetricEigen(Symmetrised(gram, size), size);

        int k = Math.Min(components, Math.Min(n - 1, d));
        while (k > 0 && !(values[k - 1] > 1e-12 * values[0])) k--;
        if (k == 0) throw new ArgumentException("PCA input has no variance: every item is the same");

        var loadings = new double[(long)k * d];
        for (int c = 0; c < k; c++)
        {
            var loading = loadings.AsSpan(c * d, d);
            if (gramOfItems)
            {
                // v = Xcᵀu / ‖Xcᵀu‖ (‖Xcᵀu‖ = √λ for a unit eigenvector u).
                for (int i = 0; i < n; i++)
                {
                    double u = vectors[(long)i * size + c];
                    for (int j = 0; j < d; j++) loading[j] += centred[(long)i * d + j] * u;
                }
                double norm = 0;
                foreach (var v in loading) norm += v * v;
                norm = Math.Sqrt(norm);
                for (int j = 0; j < d; j++) loading[j] /= norm;
            }
            else for (int j = 0; j < d; j++) loading[j] = vectors[(long)j * size + c];
            FlipToLargestPositive(loading);
        }

        var coordinates = new double[(long)n * k];
        for (int i = 0; i < n; i++)
            for (int c = 0; c < k; c++)
            {
                double sum = 0;
                var loading = loadings.AsSpan(c * d, d);
                for (int j = 0; j < d; j++) sum += centred[(long)i * d + j] * loading[j];
                coordinates[(long)i * k + c] = sum;
            }

        var explained = new double[k];
        var ratio = new double[k];
        for (int c = 0; c < k; c++)
        {
            explained[c] = values[c] / (n - 1);
            ratio[c] = values[c] / total;
        }
        return new PcaResult(n, d, k, mean, loadings, explained, ratio, total / (n - 1), coordinates);
    }

    /// <summary>(G + Gᵀ)/2: a product computed as Xᵀ·X is symmetric only up to rounding, which eigh must not see.</summary>
    private static double[] Symmetrised(double[] g, int size)
    {
        for (int i = 0; i < size; i++)
            for (int j = i + 1; j < size; j++)
            {
                double v = 0.5 * (g[(long)i * size + j] + g[(long)j * size + i]);
                g[(long)i * size + j] = v;
                g[(long)j * size + i] = v;
            }
        return g;
    }

    private static void FlipToLargestPositive(Span<double> loading)
    {
        int largest = 0;
        for (int j = 1; j < loading.Length; j++)
            if (Math.Abs(loading[j]) > Math.Abs(loading[largest])) largest = j;
        if (loading[largest] < 0)
            for (int j = 0; j < loading.Length; j++) loading[j] = -loading[j];
    }
}
