using Sweep.Analysis.Linear;
using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests;

/// <summary>Properties every implementation of these measures must have, whatever the reference says.</summary>
public sealed class InvarianceTests
{
    private static readonly (DenseMatrix X, DenseMatrix Y) Data = TestData.SharedLatent(n: 250, dx: 20, dy: 12, latent: 8, seed: 21);

    [Fact]
    public void SVCCA_PWCCA_and_both_CKAs_are_invariant_to_rotation_and_scale_of_either_side()
    {
        var (x, y) = Data;
        var rotated = TestData.Rotate(x, seed: 5, scale: 7.0);
        Assert.Equal(Svcca.Compute(x, y), Svcca.Compute(rotated, y), 9);
        Assert.Equal(Pwcca.Compute(x, y), Pwcca.Compute(rotated, y), 9);
        Assert.Equal(LinearCka.Compute(DensePairStatistics.FromMatrices(x, y)), LinearCka.Compute(DensePairStatistics.FromMatrices(rotated, y)), 9);
        Assert.Equal(UnbiasedCka.Compute(x, y), UnbiasedCka.Compute(rotated, y), 9);
        Assert.Equal(Procrustes.Compute(x, y), Procrustes.Compute(rotated, y), 9);
    }

    [Fact]
    public void A_rotated_and_scaled_copy_is_identical_to_itself()
    {
        var (x, _) = Data;
        var copy = TestData.Rotate(x, seed: 6, scale: 0.25);
        Assert.Equal(1.0, Svcca.Compute(x, copy), 9);
        Assert.Equal(1.0, UnbiasedCka.Compute(x, copy), 9);
        Assert.Equal(0.0, Procrustes.Compute(x, copy), 6);
        Assert.Equal(1.0, Rsa.Compute(x, copy, InnerDissimilarity.Euclidean), 9);
        Assert.Equal(1.0, NearestNeighbours.Compute(x, copy, 5, NeighbourMetric.Euclidean).Jaccard, 12);
    }

    [Fact]
    public void Independent_data_scores_near_chance()
    {
        var x = TestData.Gaussian(400, 10, seed: 31);
        var y = TestData.Gaussian(400, 10, seed: 32);
        Assert.InRange(UnbiasedCka.Compute(x, y), -0.02, 0.02);          // unbiased: centred on 0
        Assert.InRange(Rsa.Compute(x, y), -0.05, 0.05);
        var knn = NearestNeighbours.Compute(x, y, 10);
        Assert.InRange(knn.Overlap, 0.0, 3 * 10.0 / 399);                   // chance is k/(n−1)
    }

    [Fact]
    public void Dead_units_give_finite_values()
    {
        var (x, y) = Data;
        var constant = new DenseMatrix(x.Rows, 3, Enumerable.Repeat(4.0, x.Rows * 3).ToArray());
        Assert.Equal(0.0, Svcca.Compute(x, constant));
        Assert.Equal(0.0, Pwcca.Compute(x, constant));
        Assert.Equal(0.0, UnbiasedCka.Compute(x, constant));
        Assert.Equal(Math.Sqrt(2), Procrustes.Compute(x, constant), 12);
        Assert.True(double.IsFinite(Rsa.Compute(x, constant, InnerDissimilarity.Cosine)));
    }

    [Fact]
    public void Unbiased_CKA_moments_merge_like_one_pass()
    {
        var (x, y) = Data;
        var whole = UnbiasedCka.Compute(x, y);
        var first = Enumerable.Range(0, 100).ToList();
        var rest = Enumerable.Range(100, x.Rows - 100).ToList();
        var (x1, y1, x2, y2) = (x.SelectRows(first), y.SelectRows(first), x.SelectRows(rest), y.SelectRows(rest));
        var stats = DensePairStatistics.FromMatrices(x2, y2).Merge(DensePairStatistics.FromMatrices(x1, y1));
        var norms = RowNormMoments.FromMatrices(x2, y2).Merge(RowNormMoments.FromMatrices(x1, y1));
        Assert.Equal(whole, UnbiasedCka.Compute(stats, norms), 12);
    }
}
