using System.Text.Json;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests;

/// <summary>
/// Every measure against values computed by References/similarity.py (numpy/scipy/scikit-learn) on the
/// same seeded matrices, in float64, to 1e-6 relative. The reference runs on every test run.
/// </summary>
public sealed class ReferenceTests
{
    private const double Relative = 1e-6;

    private static readonly Lazy<(DenseMatrix X, DenseMatrix Y, JsonElement Ref)> Shared = new(() =>
    {
        var (x, y) = TestData.SharedLatent(n: 300, dx: 24, dy: 16, latent: 10, seed: 11);
        return (x, y, PythonReference.Run("similarity.py", x, y, new { keep = 0.99, k = 10 }));
    });

    private static void Close(double expected, double actual, string what)
    {
        Assert.True(Math.Abs(expected - actual) <= Relative * Math.Abs(expected) || Math.Abs(expected - actual) <= 1e-12,
            $"{what}: expected {expected:R}, got {actual:R} (relative tolerance {Relative:E0})");
    }

    [Fact]
    public void Linear_CKA_matches_Kornblith()
    {
        var (x, y, r) = Shared.Value;
        Close(r.GetProperty("cka").GetDouble(), LinearCka.Compute(DensePairStatistics.FromMatrices(x, y)).Number, "cka");
    }

    [Fact]
    public void Unbiased_CKA_from_streamed_moments_matches_Kornblith_debiased()
    {
        var (x, y, r) = Shared.Value;
        Close(r.GetProperty("cka_unbiased").GetDouble(), UnbiasedCka.Compute(x, y).Number, "cka_unbiased");
    }

    [Fact]
    public void SVCCA_from_covariance_eigendecomposition_matches_data_SVD_and_cca_core()
    {
        var (x, y, r) = Shared.Value;
        var canonical = Svcca.Canonical(DensePairStatistics.FromMatrices(x, y));
        Assert.True(canonical.KeptX < x.Cols && canonical.KeptY < y.Cols, "the 99% cut should drop directions on this data");
        Close(r.GetProperty("svcca").GetDouble(), Svcca.Compute(x, y).Number, "svcca");
    }

    [Fact]
    public void PWCCA_matches_principal_angles_reference()
    {
        var (x, y, r) = Shared.Value;
        Close(r.GetProperty("pwcca").GetDouble(), Pwcca.Compute(x, y).Number, "pwcca");
    }

    [Fact]
    public void Procrustes_distance_matches_scipy_orthogonal_procrustes()
    {
        var (x, y, r) = Shared.Value;
        Close(r.GetProperty("procrustes").GetDouble(), Procrustes.Compute(x, y).Number, "procrustes");
    }

    [Theory]
    [InlineData(InnerDissimilarity.Correlation, OuterCorrelation.Spearman)]
    [InlineData(InnerDissimilarity.Correlation, OuterCorrelation.Pearson)]
    [InlineData(InnerDissimilarity.Correlation, OuterCorrelation.Kendall)]
    [InlineData(InnerDissimilarity.Cosine, OuterCorrelation.Spearman)]
    [InlineData(InnerDissimilarity.Cosine, OuterCorrelation.Kendall)]
    [InlineData(InnerDissimilarity.Euclidean, OuterCorrelation.Spearman)]
    [InlineData(InnerDissimilarity.Euclidean, OuterCorrelation.Pearson)]
    [InlineData(InnerDissimilarity.Euclidean, OuterCorrelation.Kendall)]
    public void RSA_matches_scipy_pdist_and_stats(InnerDissimilarity inner, OuterCorrelation outer)
    {
        var (x, y, r) = Shared.Value;
        var key = $"{inner.ToString().ToLowerInvariant()}/{outer.ToString().ToLowerInvariant()}";
        Close(r.GetProperty("rsa").GetProperty(key).GetDouble(), Rsa.Compute(x, y, inner, outer).Number, $"rsa {key}");
    }

    [Theory]
    [InlineData(NeighbourMetric.Cosine)]
    [InlineData(NeighbourMetric.Euclidean)]
    public void Mutual_kNN_matches_sklearn_neighbours(NeighbourMetric metric)
    {
        var (x, y, r) = Shared.Value;
        var expected = r.GetProperty($"knn/{metric.ToString().ToLowerInvariant()}");
        var actual = NearestNeighbours.Compute(x, y, 10, metric);
        Close(expected[0].GetDouble(), actual.Overlap.Number, "overlap");
        Close(expected[1].GetDouble(), actual.Jaccard.Number, "jaccard");
        Assert.InRange(actual.Overlap.Number, 0.1, 1.0); // shared latent: far above chance 10/299
    }

    [Fact]
    public void Kendall_tau_b_counts_ties_like_scipy()
    {
        // Small case with ties in x, in y, and in both at once.
        double[] a = [1, 2, 2, 3, 4, 4, 5];
        double[] b = [1, 3, 2, 2, 5, 4, 4];
        var reference = PythonReference.Run("kendall.py", new DenseMatrix(7, 1, a), new DenseMatrix(7, 1, b), new { });
        Close(reference.GetProperty("tau").GetDouble(), RankCorrelation.KendallTauB(a, b), "tau-b");
    }
}
