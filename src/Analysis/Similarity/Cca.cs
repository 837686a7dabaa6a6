using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Similarity;

/// <summary>
/// Canonical correlation analysis from covariances (rows are items, columns units; columns centred over
/// the rows). Each side is first projected on the eigenvectors of its covariance that hold
/// <c>keepVariance</c> of the total variance (1.0 keeps every direction above the numerical rank
/// tolerance); on those whitened coordinates the canonical correlations are the singular values of
/// Λx^{-1/2} Vxᵀ Cxy Vy Λy^{-1/2}, the quantity Google's cca_core computes as svd(Σxx^{-1/2} Σxy Σyy^{-1/2}).
/// The eigendecomposition of the covariance equals the SVD of the centred data (λ = s²/(n−1)), so
/// SVCCA runs from mergeable statistics without the rows.
/// </summary>
public sealed record CcaResult(
    double[] Correlations, int KeptX, int KeptY,
    /// <summary>Canonical directions of X in the original unit space, row-major [dx, Correlations.Length] (column i is aᵢ, with aᵢᵀ Cxx aᵢ = 1).</summary>
    double[] DirectionsX);

public static class Cca
{
    /// <summary>Eigenvalues at or below this fraction of the largest are numerical zeros (rank deficiency, dead units).</summary>
    public const double RankTolerance = 1e-10;

    public static CcaResult Compute(Covariances cov, double keepVariance = 1.0)
    {
        if (keepVariance is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(keepVariance), "keepVariance must be in (0, 1]");
        var (wx, kx) = Whitening(cov.Xx, cov.WidthX, keepVariance);
        var (wy, ky) = Whitening(cov.Yy, cov.WidthY, keepVariance);
        if (kx == 0 || ky == 0) return new CcaResult([], kx, ky, []);
        // T = Wxᵀ Cxy Wy  [kx, ky]
        var cxyWy = Linalg.Multiply(cov.Xy, wy, cov.WidthX, cov.WidthY, ky);
        var t = Linalg.Multiply(Linalg.Transpose(wx, cov.WidthX, kx), cxyWy, kx, cov.WidthX, ky);
        var (u, s, _) = Linalg.Svd(t, kx, ky);
        int k = Math.Min(kx, ky);
        var rho = new double[k];
        for (int i = 0; i < k; i++) rho[i] = Math.Clamp(s[i], 0.0, 1.0);
        // aᵢ = Wx uᵢ : u is [kx, k] row-major
        var directions = Linalg.Multiply(wx, u, cov.WidthX, kx, k);
        return new CcaResult(rho, kx, ky, directions);
    }

    /// <summary>Columns Vₖ Λₖ^{-1/2} of the kept eigen-directions, row-major [d, k], and k.</summary>
    private static (double[] W, int Kept) Whitening(double[] covariance, int d, double keepVariance)
    {
        var (values, vectors) = Linalg.SymmetricEigen(covariance, d);
        double max = values.Length > 0 ? values[0] : 0, total = 0;
        int rank = 0;
        while (rank < d && values[rank] > RankTolerance * max && values[rank] > 0) total += values[rank++];
        int kept = rank;
        if (keepVariance < 1.0)
        {
            double cumulative = 0;
            for (kept = 0; kept < rank;)
            {
                cumulative += values[kept++];
                if (cumulative >= keepVariance * total * (1 - 1e-12)) break;
            }
        }
        var w = new double[d * kept];
        for (int j = 0; j < kept; j++)
        {
            double inv = 1.0 / Math.Sqrt(values[j]);
            for (int i = 0; i < d; i++) w[i * kept + j] = vectors[i * d + j] * inv;
        }
        return (w, kept);
    }
}

/// <summary>
/// SVCCA (Raghu et al. 2017): keep the top principal directions of each side holding
/// <c>keepVariance</c> (default 0.99) of its variance, run CCA between them, report the mean
/// canonical correlation. Rows are items, columns units; centred per column. Invariant to
/// orthogonal transforms and scaling of either side. Undefined when a side is constant (no direction to keep).
/// </summary>
public static class Svcca
{
    public const double DefaultKeepVariance = 0.99;

    public static CcaResult Canonical(DensePairStatistics stats, double keepVariance = DefaultKeepVariance) =>
        Cca.Compute(Covariances.From(stats), keepVariance);

    public static Measurement Compute(DensePairStatistics stats, double keepVariance = DefaultKeepVariance) =>
        ConstantSides.Reason(stats) is { } constant ? Measurement.Undefined(constant) : Mean(Canonical(stats, keepVariance));

    public static Measurement Compute(DenseMatrix x, DenseMatrix y, double keepVariance = DefaultKeepVariance) =>
        Compute(DensePairStatistics.FromMatrices(x, y), keepVariance);

    /// <summary>The mean canonical correlation of <paramref name="cca"/>; undefined when a side kept no direction.</summary>
    public static Measurement Mean(CcaResult cca) =>
        cca.Correlations.Length == 0
            ? Measurement.Undefined($"{(cca.KeptX == 0 ? "A" : "B")} has no direction of non-zero variance to correlate")
            : cca.Correlations.Average();
}

/// <summary>
/// Projection-weighted CCA (Morcos et al. 2018): CCA without SVD reduction; on the side with fewer
/// kept directions (X on a tie), each canonical variate hᵢ = Xc aᵢ is weighted by
/// αᵢ = Σⱼ |⟨hᵢ/‖hᵢ‖, xⱼ⟩| over that side's centred unit columns xⱼ, normalised to sum 1;
/// PWCCA = Σᵢ αᵢ ρᵢ. ⟨hᵢ, xⱼ⟩ = (n−1)(Cxx aᵢ)ⱼ and ‖hᵢ‖² = (n−1), so it runs from statistics.
/// (cca_core's QR of the variates reduces to this normalisation since the variates are orthogonal.)
/// Undefined when a side is constant.
/// </summary>
public static class Pwcca
{
    public static Measurement Compute(DensePairStatistics stats)
    {
        if (ConstantSides.Reason(stats) is { } constant) return Measurement.Undefined(constant);
        var cov = Covariances.From(stats);
        var forward = Cca.Compute(cov);
        if (forward.KeptY < forward.KeptX) { cov = cov.Swapped(); forward = Cca.Compute(cov); }
        int k = forward.Correlations.Length;
        if (k == 0) return Svcca.Mean(forward);
        var projected = Linalg.Multiply(cov.Xx, forward.DirectionsX, cov.WidthX, cov.WidthX, k); // Cxx A [dx, k]
        var weights = new double[k];
        for (int i = 0; i < k; i++)
        {
            double norm2 = 0;
            for (int j = 0; j < cov.WidthX; j++) norm2 += forward.DirectionsX[j * k + i] * projected[j * k + i];
            double sum = 0;
            for (int j = 0; j < cov.WidthX; j++) sum += Math.Abs(projected[j * k + i]);
            weights[i] = sum / Math.Sqrt(norm2);
        }
        double total = weights.Sum(), value = 0;
        for (int i = 0; i < k; i++) value += weights[i] / total * forward.Correlations[i];
        return value;
    }

    public static Measurement Compute(DenseMatrix x, DenseMatrix y) => Compute(DensePairStatistics.FromMatrices(x, y));
}
