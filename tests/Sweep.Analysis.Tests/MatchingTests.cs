using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Matching;
using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Tests;

public sealed class MatchingTests
{
    [Theory]
    [InlineData(12, 12, 61)]
    [InlineData(7, 15, 62)]
    [InlineData(15, 6, 63)]
    public void Hungarian_assignment_matches_scipy_linear_sum_assignment(int rows, int cols, int seed)
    {
        var cost = TestData.Gaussian(rows, cols, seed);
        var reference = PythonReference.Run("assignment.py", cost, cost, new { });
        var assignment = Hungarian.Solve(cost.Data, rows, cols);
        Assert.Equal(reference.GetProperty("assignment").EnumerateArray().Select(e => e.GetInt32()), assignment);
        double total = assignment.Select((c, r) => c < 0 ? 0 : cost[r, c]).Sum();
        Assert.Equal(reference.GetProperty("total").GetDouble(), total, 1e-9);
    }

    private static BestMatches Matches(params (int A, double R)[] bToA) => new()
    {
        WidthA = 5, WidthB = bToA.Length, Count = 100,
        AToB = Enumerable.Repeat(new Match(-1, 0), 5).ToArray(),
        BToA = bToA.Select(p => new Match(p.A, p.R)).ToArray(),
        TopKAToB = [], DeadA = new bool[5], DeadB = new bool[bToA.Length],
    };

    [Fact]
    public void Pairing_applies_the_low_correlation_token_and_one_to_one_filters()
    {
        // B0→A0 0.9, B1→A0 0.8 (many-to-one), B2→A1 0.05 (low), B3→A2 0.7 (punctuation), B4→A3 0.6, B5→A4 0.5
        var matches = Matches((0, 0.9), (0, 0.8), (1, 0.05), (2, 0.7), (3, 0.6), (4, 0.5));
        string[][] topA = [["cat", "dog"], ["the"], [",", "."], ["run", "ran"], ["blue"]];
        string[][] topB = [["cat"], ["dog"], ["the"], [",", "and"], ["ran", "x"], ["red"]];
        var many = FeatureMatching.Pair(matches, new MatchingOptions { OneToOne = false });
        Assert.Equal([0, 1, 3, 4, 5], many.Select(p => p.B));
        var oneToOne = FeatureMatching.Pair(matches, new MatchingOptions());
        Assert.Equal([0, 3, 4, 5], oneToOne.Select(p => p.B));
        var options = new MatchingOptions { NonConceptTokens = new HashSet<string> { ",", ".", "\n" }, RequireSharedTopToken = true };
        var filtered = FeatureMatching.Pair(matches, options, topA, topB);
        Assert.Equal([(0, 0), (3, 4)], filtered.Select(p => (p.A, p.B)));
    }

    [Fact]
    public void Hungarian_pairing_maximises_total_correlation_among_candidates()
    {
        var matches = Matches((0, 0.9), (0, 0.85), (1, 0.3));
        double[,] r = { { 0.9, 0.85, 0.0 }, { 0.8, 0.1, 0.3 } }; // r[a, b]
        var pairs = FeatureMatching.Pair(matches, new MatchingOptions { Hungarian = true }, correlation: (a, b) => r[a, b]);
        // Greedy one-to-one keeps B0–A0 (0.9) and B2–A1 (0.3) = 1.2; the assignment takes B1–A0, B0–A1 = 1.65.
        Assert.Equal([(1, 0, 0.8), (0, 1, 0.85)], pairs.Select(p => (p.A, p.B, p.Correlation)));
    }

    [Fact]
    public void Paired_decoders_beat_both_baselines_and_independent_decoders_do_not()
    {
        const int features = 150, dims = 16;
        var decoderA = TestData.Gaussian(features, dims, 71);
        // B's decoder: A's rows in another basis, permuted, plus noise — the "universal" case.
        var rotated = TestData.Rotate(decoderA, seed: 72);
        var permutation = Enumerable.Range(0, features).OrderBy(i => (i * 7919) % features).ToArray();
        var noise = TestData.Gaussian(features, dims, 73, scale: 0.3);
        var dataB = new double[features * dims];
        for (int f = 0; f < features; f++)
            for (int d = 0; d < dims; d++) dataB[permutation[f] * dims + d] = rotated[f, d] + noise[f, d];
        var decoderB = new DenseMatrix(features, dims, dataB);
        var pairs = Enumerable.Range(0, 60).Select(f => new FeaturePair(f, permutation[f], 0.5)).ToList();

        double Svcca(DenseMatrix x, DenseMatrix y) => PairedSimilarity.Measure(x, y, PairedMeasure.Svcca);
        double Rsa(DenseMatrix x, DenseMatrix y) => PairedSimilarity.Measure(x, y, PairedMeasure.Rsa);
        foreach (var measure in new Func<DenseMatrix, DenseMatrix, double>[] { Svcca, Rsa })
        {
            var (shuffled, subsets) = PairedSimilarity.Compare(decoderA, decoderB, pairs, measure, permutations: 40, seed: 1);
            // No baseline draw reaches the observed value: p is the smallest 40 draws can give, 1/41, never 0.
            Assert.Equal(1.0 / 41, shuffled.PValue);
            Assert.Equal(1.0 / 41, subsets.PValue);
            Assert.True(shuffled.Observed > shuffled.Mean + 5 * shuffled.Std);

            var independent = TestData.Gaussian(features, dims, 74);
            var (nullShuffled, _) = PairedSimilarity.Compare(decoderA, independent, pairs, measure, permutations: 40, seed: 1);
            Assert.InRange(nullShuffled.PValue, 0.05, 1.0);
            Assert.InRange(nullShuffled.Observed, nullShuffled.Mean - 3 * nullShuffled.Std, nullShuffled.Mean + 3 * nullShuffled.Std);
        }
    }

    [Fact]
    public void Baselines_are_reproducible_from_the_seed()
    {
        var a = TestData.Gaussian(50, 8, 81);
        var b = TestData.Gaussian(50, 8, 82);
        var pairs = Enumerable.Range(0, 20).Select(i => new FeaturePair(i, i, 0.2)).ToList();
        double Measure(DenseMatrix x, DenseMatrix y) => Svcca.Compute(x, y).Number;
        Assert.Equal(PairedSimilarity.Compare(a, b, pairs, Measure, 10, seed: 3), PairedSimilarity.Compare(a, b, pairs, Measure, 10, seed: 3));
        Assert.NotEqual(PairedSimilarity.Compare(a, b, pairs, Measure, 10, seed: 3).Shuffled.Mean, PairedSimilarity.Compare(a, b, pairs, Measure, 10, seed: 4).Shuffled.Mean);
    }

    [Fact]
    public void Baselines_spread_over_threads_equal_the_seeded_draws_evaluated_one_by_one()
    {
        var a = TestData.Gaussian(60, 8, 83);
        var b = TestData.Gaussian(60, 8, 84);
        var pairs = Enumerable.Range(0, 25).Select(i => new FeaturePair(i, (i * 7) % 60, 0.2)).ToList();
        double Measure(DenseMatrix x, DenseMatrix y) => Rsa.Compute(x, y).Number;
        var (shuffled, subsets) = PairedSimilarity.Compare(a, b, pairs, Measure, 30, seed: 5);

        // The documented order: every shuffling of the B rows first, then per subset an A draw and a B draw.
        var rng = new Random(5);
        var observedA = a.SelectRows(pairs.Select(p => p.A).ToList());
        var bRows = pairs.Select(p => p.B).ToArray();
        var expectedShuffled = Enumerable.Range(0, 30).Select(_ =>
        {
            var permuted = bRows.ToArray();
            rng.Shuffle(permuted);
            return Measure(observedA, b.SelectRows(permuted));
        }).ToArray();
        int[] Draw(int population) { var all = Enumerable.Range(0, population).ToArray(); rng.Shuffle(all); return all[..pairs.Count]; }
        var expectedSubsets = Enumerable.Range(0, 30).Select(_ =>
        {
            var drawnA = Draw(a.Rows);
            return Measure(a.SelectRows(drawnA), b.SelectRows(Draw(b.Rows)));
        }).ToArray();
        double observed = Measure(observedA, b.SelectRows(bRows));
        Assert.Equal(PairedSimilarity.Summarise(observed, expectedShuffled, 5), shuffled);
        Assert.Equal(PairedSimilarity.Summarise(observed, expectedSubsets, 5), subsets);
    }
}
