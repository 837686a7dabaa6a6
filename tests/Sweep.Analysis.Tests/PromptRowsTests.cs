using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests;

/// <summary>
/// Prompt-level rows (<c>level: prompt</c>): two sites over the same prompts tokenized differently (A without BOS,
/// B with BOS and other lengths) become one row per prompt each, paired by prompt.
/// </summary>
public sealed class PromptRowsTests
{
    private const int Bos = 1;

    /// <summary>One site's token rows over prompts 100..: per prompt its own number of tokens, values sharing a per-prompt latent.</summary>
    private static (TokenRows Tokens, float[] Values) Site(int prompts, int width, bool bos, int seed, double[][] latent)
    {
        var rng = new Random(seed);
        var (seq, pos, token, values) = (new List<int>(), new List<int>(), new List<int>(), new List<float>());
        for (int p = 0; p < prompts; p++)
        {
            int length = (bos ? 1 : 0) + rng.Next(1, 9);
            for (int t = 0; t < length; t++)
            {
                seq.Add(100 + p); pos.Add(t);
                token.Add(bos && t == 0 ? Bos : rng.Next(2, 500));
                for (int j = 0; j < width; j++)
                    values.Add(bos && t == 0 ? 50f : (float)(latent[p][j % latent[p].Length] * (1 + j) + rng.NextDouble() - 0.5));
            }
        }
        return (new TokenRows([.. seq], [.. pos], [.. token]), [.. values]);
    }

    /// <summary>Per prompt, written out here: the last row, or the mean of its rows with a BOS row left out; as float32, as activations are.</summary>
    private static DenseMatrix PerPrompt(TokenRows tokens, float[] values, int width, Reduction reduce)
    {
        var rows = new List<double>();
        foreach (var group in Enumerable.Range(0, tokens.Rows).GroupBy(r => tokens.Seq[r]))
        {
            var kept = group.Where(r => !(tokens.Pos[r] == 0 && tokens.Token[r] == Bos)).ToList();
            var used = reduce == Reduction.Last ? [group.Last()] : kept;
            for (int j = 0; j < width; j++) rows.Add((float)(used.Sum(r => (double)values[r * width + j]) / used.Count));
        }
        return new DenseMatrix(rows.Count / width, width, [.. rows]);
    }

    [Theory]
    [InlineData(Reduction.Mean)]
    [InlineData(Reduction.Last)]
    public void Prompt_level_CKA_between_two_tokenizations_equals_numpy_on_each_sides_own_per_prompt_vectors(Reduction reduce)
    {
        const int prompts = 60, wa = 7, wb = 5;
        var rng = new Random(4);
        var latent = Enumerable.Range(0, prompts).Select(_ => Enumerable.Range(0, 3).Select(_ => rng.NextDouble() * 4 - 2).ToArray()).ToArray();
        var (tokensA, a) = Site(prompts, wa, bos: false, seed: 1, latent);
        var (tokensB, b) = Site(prompts, wb, bos: true, seed: 2, latent);
        Assert.NotEqual(tokensA.Rows, tokensB.Rows);

        var block = PromptRows.Pair(tokensA, SiteRows.OfDense(wa, a), new ReductionOptions(reduce), tokensB, SiteRows.OfDense(wb, b), new ReductionOptions(reduce, Bos));
        Assert.Equal(Enumerable.Range(100, prompts), block.Tokens.Seq);
        Assert.All(block.Tokens.Pos, p => Assert.Equal(-1, p));

        var measure = MeasureRegistry.Find("cka", SiteData.Dense)!;
        var cka = measure.Compute(measure.Defaults, new MeasureShape(wa, wb, SiteData.Dense), () => [block]).Values.Single(v => v.Measure == "cka_linear");
        Assert.Equal(prompts, cka.Count);
        var x = PerPrompt(tokensA, a, wa, reduce);
        var y = PerPrompt(tokensB, b, wb, reduce);
        double expected = PythonReference.Run("similarity.py", x, y, new { keep = 0.99, k = 5 }).GetProperty("cka").GetDouble();
        Assert.True(Math.Abs(expected - cka.Result.Number) <= 1e-6 * Math.Abs(expected), $"cka: numpy {expected:R}, Sweep {cka.Result.Number:R}");
        // BOS rows (an outlying 50 in every unit) would pull the mean far off: left out, the prompts still agree.
        Assert.True(expected > 0.5, $"the two sites share a per-prompt latent, expected a high CKA, numpy gives {expected}");
    }

    [Fact]
    public void Sparse_codes_reduce_to_the_features_active_on_some_token_of_the_prompt_and_keep_their_sign()
    {
        // Prompt 7: BOS (feature 0 = 9, left out of the mean), then two tokens; prompt 8: one token.
        var tokens = new TokenRows([7, 7, 7, 8], [0, 1, 2, 0], [Bos, 5, 6, 9]);
        var codes = new SparseRows(4, [0, 1, 3, 4, 5], [0, 1, 2, 1, 3], [9f, 2f, -1f, 4f, 0.5f]) { Signed = true };
        var (seq, rows) = PromptRows.Reduce(tokens, SiteRows.OfSparse(codes), new ReductionOptions(Reduction.Mean, Bos));
        Assert.Equal([7, 8], seq);
        var reduced = rows.SparseCodes;
        Assert.True(reduced.Signed);
        Assert.Equal([0, 2, 3], reduced.Offsets);
        Assert.Equal([1, 2, 3], reduced.Indices);
        Assert.Equal([3f, -0.5f, 0.5f], reduced.Values);   // (2 + 4) / 2, (−1 + 0) / 2; prompt 8 as it is
        var (_, last) = PromptRows.Reduce(tokens, SiteRows.OfSparse(codes), new ReductionOptions(Reduction.Last, Bos));
        Assert.Equal([1, 3], last.SparseCodes.Indices);
        Assert.Equal([4f, 0.5f], last.SparseCodes.Values);
    }

    [Fact]
    public void Two_sites_whose_prompts_differ_are_refused_naming_the_first_difference()
    {
        var a = new TokenRows([3, 3, 4], [0, 1, 0], [5, 6, 7]);
        var b = new TokenRows([3, 5], [0, 0], [8, 9]);
        var e = Assert.Throws<InvalidDataException>(() => PromptRows.Pair(a, SiteRows.OfDense(1, [1f, 2f, 3f]), new ReductionOptions(Reduction.Last),
            b, SiteRows.OfDense(1, [1f, 2f]), new ReductionOptions(Reduction.Last)));
        Assert.Equal("the two sites' prompts differ (2 and 2 prompts, first difference at prompt 1: sequence 4 against 5)", e.Message);
    }
}
