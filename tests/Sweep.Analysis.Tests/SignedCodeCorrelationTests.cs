using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Tests;

/// <summary>
/// The exact sparse correlation on signed codes (a temporal SAE's pred output): features with negative sums, sums of
/// either sign across tokens, a live feature whose sum is exactly 0 on each side, and a co-active pair whose products
/// cancel to exactly 0 partway through a rare feature's tokens. Best matches both ways and the top-k must be numpy's
/// (np.corrcoef on the densified codes, References/correlation_matches.py), in one product and merged from slices.
/// </summary>
public sealed class SignedCodeCorrelationTests
{
    private const int TopK = 4;

    [Fact]
    public void Signed_codes_give_numpys_best_matches_and_top_k_in_both_directions()
    {
        var codes = Signed(tokens: 1200, seed: 61);
        var stats = SparsePairStatistics.FromRows(codes.A, codes.B);
        Assert.InRange(stats.DenseRowsA, 1, codes.A.Width - 1);   // dense and sparse cross-sum rows both exercised
        // Each pair whose cross sum is not 0 is held once, also when a running sum passed through 0 (the rare pair).
        Assert.Equal(NonZeroCrossSums(codes), stats.CoActivePairs);
        var sparse = SparseCorrelation.BestMatches(stats, TopK);

        var reference = PythonReference.Run("correlation_matches.py", Dense(codes.A), Dense(codes.B), new { k = TopK });
        Assert.True(reference.GetProperty("negative_a").GetInt32() > 100 && reference.GetProperty("negative_b").GetInt32() > 100, "the codes must be signed");
        var aToB = reference.GetProperty("a_to_b").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var bToA = reference.GetProperty("b_to_a").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var aValue = reference.GetProperty("a_value").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var bValue = reference.GetProperty("b_value").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(aToB, sparse.AToB.Select(m => m.Index));
        Assert.Equal(bToA, sparse.BToA.Select(m => m.Index));
        for (int i = 0; i < aToB.Length; i++) Assert.Equal(aValue[i], sparse.AToB[i].Correlation, 1e-9);
        for (int j = 0; j < bToA.Length; j++) Assert.Equal(bValue[j], sparse.BToA[j].Correlation, 1e-9);
        var top = reference.GetProperty("top").EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetInt32()).ToArray()).ToArray();
        for (int i = 0; i < top.Length; i++) Assert.Equal(top[i], sparse.TopKAToB[i].Select(m => m.Index));

        // What makes signed codes different is exercised: a best match that is a never-co-active pair with a positive
        // baseline r = −qᵢqⱼ/n (both sums non-zero, of opposite signs), and the zero-sum features' matches.
        Assert.Contains(Enumerable.Range(0, aToB.Length), i => aToB[i] >= 0 && sparse.AToB[i].Correlation > 0 && !CoActive(codes, i, aToB[i]));
        Assert.Equal(0.0, stats.SumA[codes.A.Width - 4]);
        Assert.False(sparse.DeadA[codes.A.Width - 4]);
        Assert.Equal(0.0, stats.SumB[codes.B.Width - 2]);
    }

    [Fact]
    public void Signed_codes_give_the_same_matches_in_one_product_or_merged_from_slices_in_any_order()
    {
        var codes = Signed(tokens: 900, seed: 62);
        var whole = SparseCorrelation.BestMatches(SparsePairStatistics.FromRows(codes.A, codes.B), TopK);
        int[] cuts = [0, 1, 300, 301, 640, codes.A.Rows];
        var parts = Enumerable.Range(0, cuts.Length - 1)
            .Select(k => SparsePairStatistics.FromRows(codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k])))
            .ToList();
        foreach (var merged in new[] { SparsePairStatistics.MergeAll(parts), SparsePairStatistics.MergeAll(Enumerable.Reverse(parts).ToList()) })
        {
            var matches = SparseCorrelation.BestMatches(merged, TopK);
            Assert.True(whole.SameMatchesAs(matches), "best-match indices or dead flags differ");
            for (int i = 0; i < whole.WidthA; i++)
            {
                Assert.Equal(whole.AToB[i].Correlation, matches.AToB[i].Correlation, 1e-12);
                Assert.Equal(whole.TopKAToB[i].Select(m => m.Index), matches.TopKAToB[i].Select(m => m.Index));
            }
        }
    }

    [Fact]
    public void Signed_codes_folded_in_place_batch_by_batch_or_in_tiles_of_A_give_the_same_matches_as_one_product()
    {
        var codes = Signed(tokens: 900, seed: 63);
        var whole = SparseCorrelation.BestMatches(SparsePairStatistics.FromRows(codes.A, codes.B), TopK);
        int[] cuts = [0, 1, 300, 301, 640, codes.A.Rows];
        var batches = Enumerable.Range(0, cuts.Length - 1)
            .Select(k => (codes.A.Slice(cuts[k], cuts[k + 1] - cuts[k]), codes.B.Slice(cuts[k], cuts[k + 1] - cuts[k]))).ToList();
        // In place: each batch's products merged into the rows (sums that cancel across batches included).
        var folded = SparsePairStatistics.Empty(codes.A.Width, codes.B.Width);
        foreach (var batch in batches) folded.Add([batch]);
        // Tiles: the cross sums of three ranges of A features, each folded batch by batch, combined.
        var tiles = new SparseCorrelation.Tiles(TopK);
        int[] edges = [0, 5, codes.A.Width - 3, codes.A.Width];
        for (int t = 0; t + 1 < edges.Length; t++)
        {
            var tile = SparsePairStatistics.Empty(codes.A.Width, codes.B.Width, edges[t], edges[t + 1]);
            foreach (var batch in batches) tile.Add([batch]);
            tiles.Add(tile);
        }
        foreach (var matches in new[] { SparseCorrelation.BestMatches(folded, TopK), tiles.Finish() })
        {
            Assert.True(whole.SameMatchesAs(matches), "best-match indices or dead flags differ");
            for (int i = 0; i < whole.WidthA; i++)
            {
                Assert.Equal(whole.AToB[i].Correlation, matches.AToB[i].Correlation, 1e-12);
                Assert.Equal(whole.TopKAToB[i].Select(m => m.Index), matches.TopKAToB[i].Select(m => m.Index));
            }
            for (int j = 0; j < whole.WidthB; j++) Assert.Equal(whole.BToA[j].Correlation, matches.BToA[j].Correlation, 1e-12);
        }
    }

    [Fact]
    public void Negative_codes_not_marked_signed_are_refused()
    {
        var codes = Signed(tokens: 50, seed: 63);
        var e = Assert.Throws<ArgumentException>(() => SparsePairStatistics.FromRows(codes.A with { Signed = false }, codes.B));
        Assert.Contains("expected non-negative codes", e.Message);
    }

    /// <summary>
    /// SAE-like codes made signed: A features with index ≡ 1 (mod 4) negated on every token, ≡ 2 (mod 4) negated on a
    /// random half of their tokens (and B likewise mod 5), plus on each side one live feature whose sum is exactly 0 and
    /// one rare feature co-active with a rare partner on three tokens whose products sum to 0 after the second, and on A
    /// one feature active on every token with values of either sign (a dense cross-sum row) and one negative "loner" on
    /// five tokens of its own.
    /// </summary>
    private static SaeCodes Signed(int tokens, int seed)
    {
        var codes = SaeCodes.Generate(tokens, widthA: 90, widthB: 300, concepts: 45, conceptsPerToken: 3, noisePerToken: 2, seed: seed);
        var rng = new Random(seed);
        SparseRows Flip(SparseRows rows, int modulus, bool frequent, (int Token, float Value)[] zeroSum, (int Token, float Value)[] rare)
        {
            var offsets = new List<int> { 0 };
            var indices = new List<int>();
            var values = new List<float>();
            var token = new SortedDictionary<int, float>();
            for (int t = 0; t < rows.Rows; t++)
            {
                for (int k = rows.Offsets[t]; k < rows.Offsets[t + 1]; k++)
                {
                    int f = rows.Indices[k];
                    bool negate = f % modulus == 1 || (f % modulus == 2 && rng.Next(2) == 0);
                    token[f] = negate ? -rows.Values[k] : rows.Values[k];
                }
                // B: its quiet upper half fires now and then too, so that A's every-token feature is co-active with most of B.
                if (!frequent && rng.Next(3) == 0) token[rows.Width / 2 + rng.Next(rows.Width / 2)] = (float)(rng.NextDouble() - 0.5);
                foreach (var (at, value) in zeroSum) if (at == t) token[rows.Width] = value;
                foreach (var (at, value) in rare) if (at == t) token[rows.Width + 1] = value;
                if (frequent) token[rows.Width + 2] = (float)(rng.NextDouble() - 0.3);
                foreach (var (f, v) in token) if (v != 0) { indices.Add(f); values.Add(v); }
                token.Clear();
                offsets.Add(indices.Count);
            }
            // Five more tokens on which only A's "loner" fires, negatively: it is never co-active with anything, so its
            // best match is the never-co-active B feature of largest q, at a positive r.
            for (int t = 0; t < 5; t++)
            {
                if (frequent) { indices.Add(rows.Width + 3); values.Add(-1f - t % 3); }
                offsets.Add(indices.Count);
            }
            return new SparseRows(rows.Width + (frequent ? 4 : 2), offsets.ToArray(), indices.ToArray(), values.ToArray()) { Signed = true };
        }
        int t1 = tokens / 7, t2 = tokens / 3, t3 = tokens / 2;
        var a = Flip(codes.A, 4, true, [(t1, 1.5f), (t2, -1.5f)], [(t1 + 1, 1f), (t2 + 1, -1f), (t3 + 1, 0.5f)]);
        var b = Flip(codes.B, 5, false, [(t2 + 5, 0.75f), (t3 + 5, -0.75f)], [(t1 + 1, 2f), (t2 + 1, 2f), (t3 + 1, 2f)]);
        return codes with { A = a, B = b };
    }

    /// <summary>Pairs (i, j) with Σₜ aᵢbⱼ ≠ 0, summed token by token in float64 (products of float32 values are exact).</summary>
    private static long NonZeroCrossSums(SaeCodes codes)
    {
        var sums = new Dictionary<(int, int), double>();
        for (int t = 0; t < codes.A.Rows; t++)
            for (int p = codes.A.Offsets[t]; p < codes.A.Offsets[t + 1]; p++)
                for (int q = codes.B.Offsets[t]; q < codes.B.Offsets[t + 1]; q++)
                {
                    var key = (codes.A.Indices[p], codes.B.Indices[q]);
                    sums[key] = sums.GetValueOrDefault(key) + (double)codes.A.Values[p] * codes.B.Values[q];
                }
        return sums.Values.Count(v => v != 0);
    }

    private static bool CoActive(SaeCodes codes, int a, int b) =>
        Enumerable.Range(0, codes.A.Rows).Any(t => Has(codes.A, t, a) && Has(codes.B, t, b));

    private static bool Has(SparseRows rows, int token, int feature) =>
        Array.IndexOf(rows.Indices, feature, rows.Offsets[token], rows.Offsets[token + 1] - rows.Offsets[token]) >= 0;

    private static DenseMatrix Dense(SparseRows rows)
    {
        var dense = rows.ToDense();
        return new DenseMatrix(rows.Rows, rows.Width, dense.Select(v => (double)v).ToArray());
    }
}
