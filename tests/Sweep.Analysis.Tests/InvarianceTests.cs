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
        Assert.Equal(Svcca.Compute(x, y).Number, Svcca.Compute(rotated, y).Number, 9);
        Assert.Equal(Pwcca.Compute(x, y).Number, Pwcca.Compute(rotated, y).Number, 9);
        Assert.Equal(LinearCka.Compute(DensePairStatistics.FromMatrices(x, y)).Number, LinearCka.Compute(DensePairStatistics.FromMatrices(rotated, y)).Number, 9);
        Assert.Equal(UnbiasedCka.Compute(x, y).Number, UnbiasedCka.Compute(rotated, y).Number, 9);
        Assert.Equal(Procrustes.Compute(x, y).Number, Procrustes.Compute(rotated, y).Number, 9);
    }

    [Fact]
    public void A_rotated_and_scaled_copy_is_identical_to_itself()
    {
        var (x, _) = Data;
        var copy = TestData.Rotate(x, seed: 6, scale: 0.25);
        Assert.Equal(1.0, Svcca.Compute(x, copy).Number, 9);
        Assert.Equal(1.0, UnbiasedCka.Compute(x, copy).Number, 9);
        Assert.Equal(0.0, Procrustes.Compute(x, copy).Number, 6);
        Assert.Equal(1.0, Rsa.Compute(x, copy, InnerDissimilarity.Euclidean).Number, 9);
        Assert.Equal(1.0, NearestNeighbours.Compute(x, copy, 5, NeighbourMetric.Euclidean).Jaccard.Number, 12);
    }

    [Fact]
    public void Independent_data_scores_near_chance()
    {
        var x = TestData.Gaussian(400, 10, seed: 31);
        var y = TestData.Gaussian(400, 10, seed: 32);
        Assert.InRange(UnbiasedCka.Compute(x, y).Number, -0.02, 0.02);          // unbiased: centred on 0
        Assert.InRange(Rsa.Compute(x, y).Number, -0.05, 0.05);
        var knn = NearestNeighbours.Compute(x, y, 10);
        Assert.InRange(knn.Overlap.Number, 0.0, 3 * 10.0 / 399);                   // chance is k/(n−1)
    }

    [Fact]
    public void A_constant_side_makes_every_measure_undefined_with_the_reason_never_a_number()
    {
        var (x, _) = Data;
        var constant = new DenseMatrix(x.Rows, 3, Enumerable.Repeat(0.1, x.Rows * 3).ToArray());   // 0.1 is not exact in binary: rounding must not pass for variance
        var stats = DensePairStatistics.FromMatrices(x, constant);
        var norms = RowNormMoments.FromMatrices(x, constant);
        var knn = NearestNeighbours.Compute(x, constant, 5);
        Measurement[] results =
        [
            LinearCka.Compute(stats), UnbiasedCka.Compute(stats, norms), Svcca.Compute(stats), Pwcca.Compute(stats), Procrustes.Compute(stats),
            Rsa.Compute(x, constant), Rsa.Compute(x, constant, InnerDissimilarity.Cosine), Rsa.Compute(x, constant, InnerDissimilarity.Euclidean),
            knn.Overlap, knn.Jaccard,
        ];
        foreach (var result in results)
        {
            Assert.Null(result.Value);
            Assert.Equal($"B is constant: every one of its {x.Rows} rows is the same, so it has no variance to compare", result.UndefinedReason);
        }
        Assert.StartsWith("A is constant", LinearCka.Compute(DensePairStatistics.FromMatrices(constant, x)).UndefinedReason);
        Assert.Equal("undefined: " + results[0].UndefinedReason, Assert.Throws<UndefinedMeasureException>(() => results[0].Number).Message);
    }

    [Fact]
    public void Dead_units_beside_live_ones_still_give_finite_values()
    {
        var (x, y) = Data;
        // Two live columns of y and one constant column: the side varies, so every measure is defined.
        var partly = new DenseMatrix(x.Rows, 3, Enumerable.Range(0, x.Rows * 3).Select(i => i % 3 == 2 ? 4.0 : y.Data[(i / 3) * y.Cols + i % 3]).ToArray());
        Assert.True(double.IsFinite(Svcca.Compute(x, partly).Number));
        Assert.True(double.IsFinite(Pwcca.Compute(x, partly).Number));
        Assert.True(double.IsFinite(Procrustes.Compute(x, partly).Number));
        Assert.True(double.IsFinite(Rsa.Compute(x, partly, InnerDissimilarity.Cosine).Number));
    }

    [Fact]
    public void Rows_that_are_each_constant_give_equal_correlation_distances_and_an_undefined_RSA()
    {
        var (x, _) = Data;
        // Every row a multiple of (1, 1, 1): items differ, but each centres to zero, so all correlation distances are 1.
        var flat = new DenseMatrix(x.Rows, 3, Enumerable.Range(0, x.Rows * 3).Select(i => 0.1 * (i / 3 + 1)).ToArray());
        var rsa = Rsa.Compute(x, flat);
        Assert.Null(rsa.Value);
        Assert.Equal($"every pair of B's {x.Rows} items is equally dissimilar (correlation distance), so there is nothing to rank", rsa.UndefinedReason);
        Assert.True(Rsa.Compute(x, flat, InnerDissimilarity.Euclidean).IsDefined);
    }

    [Fact]
    public void Non_finite_inputs_are_refused_naming_the_side_and_count()
    {
        var (x, y) = Data;
        var bad = (double[])y.Data.Clone();
        bad[7] = double.NaN;
        bad[11] = double.PositiveInfinity;
        var withNaN = new DenseMatrix(y.Rows, y.Cols, bad);
        var e = Assert.Throws<NonFiniteInputException>(() => DensePairStatistics.FromMatrices(x, withNaN));
        Assert.Equal($"B holds 2 non-finite values (NaN or ±infinity) among {bad.Length}; measures refuse them", e.Message);
        Assert.Throws<NonFiniteInputException>(() => Rsa.Compute(withNaN, x));
        Assert.Throws<NonFiniteInputException>(() => NearestNeighbours.Compute(x, withNaN, 5));
        var floats = x.ToFloats();
        floats[^1] = float.NegativeInfinity;
        e = Assert.Throws<NonFiniteInputException>(() => DensePairStatistics.FromRows(floats, y.ToFloats(), x.Rows, x.Cols, y.Cols));
        Assert.StartsWith("A holds 1 non-finite value ", e.Message);
    }

    [Fact]
    public void Counting_non_finite_values_finds_each_one_wherever_it_is()
    {
        var values = new float[1037];
        Assert.Equal(0, FiniteValues.CountNonFinite(values));
        int[] at = [0, 5, 8, 63, 64, 500, 1036];
        for (int k = 0; k < at.Length; k++) values[at[k]] = k % 3 == 0 ? float.NaN : k % 3 == 1 ? float.PositiveInfinity : float.NegativeInfinity;
        Assert.Equal(at.Length, FiniteValues.CountNonFinite(values));
        values[500] = float.MaxValue;
        Assert.Equal(at.Length - 1, FiniteValues.CountNonFinite(values));
    }

    [Fact]
    public void Unbiased_CKA_moments_merge_like_one_pass()
    {
        var (x, y) = Data;
        var whole = UnbiasedCka.Compute(x, y).Number;
        var first = Enumerable.Range(0, 100).ToList();
        var rest = Enumerable.Range(100, x.Rows - 100).ToList();
        var (x1, y1, x2, y2) = (x.SelectRows(first), y.SelectRows(first), x.SelectRows(rest), y.SelectRows(rest));
        var stats = DensePairStatistics.FromMatrices(x2, y2).Merge(DensePairStatistics.FromMatrices(x1, y1));
        var norms = RowNormMoments.FromMatrices(x2, y2).Merge(RowNormMoments.FromMatrices(x1, y1));
        Assert.Equal(whole, UnbiasedCka.Compute(stats, norms).Number, 12);
    }
}
