using System.Text.Json;
using Sweep.Analysis.Concepts;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>
/// concept_means, contrast, selectivity and PCA against References/concepts.py (numpy, scipy.stats.ttest_ind with
/// equal_var=False, sklearn PCA), which reduces the prompts itself from the token rows, to 1e-6 relative — on dense
/// activations and on sparse SAE codes, for every reduction, from statistics folded over blocks and merged in
/// several orders.
/// </summary>
public sealed class ConceptReferenceTests
{
    private const double Relative = 1e-6;

    public static TheoryData<bool, Reduction> Cases()
    {
        var cases = new TheoryData<bool, Reduction>();
        foreach (bool sparse in new[] { false, true })
            foreach (var reduction in Enum.GetValues<Reduction>()) cases.Add(sparse, reduction);
        return cases;
    }

    private static ReductionOptions Options(Reduction reduction) =>
        new(reduction, LabelledPrompts.Bos, reduction == Reduction.Marker ? LabelledPrompts.Marker : null);

    private static (LabelledPrompts Data, JsonElement Ref) Reference(bool sparse, Reduction reduction)
    {
        var data = LabelledPrompts.Generate(sequences: 90, width: sparse ? 24 : 12, sparse, seed: sparse ? 21 : 7);
        var (values, index) = data.ForReference();
        var json = PythonReference.Run("concepts.py", values, index, new
        {
            labels = LabelledPrompts.Names, reduction = reduction.ToString().ToLowerInvariant(), bos = LabelledPrompts.Bos,
            marker = LabelledPrompts.Marker, baseline = "neutral", components = 3,
        });
        return (data, json);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Every_measure_equals_the_numpy_scipy_reference_from_merged_block_statistics(bool sparse, Reduction reduction)
    {
        var (data, r) = Reference(sparse, reduction);
        var stats = Merged(data, reduction);

        // concept_means
        var means = ConceptMeans.Finish(stats);
        Assert.Equal(r.GetProperty("counts").EnumerateArray().Select(c => c.GetInt64()), means.Select(m => m.Count));
        for (int l = 0; l < means.Count; l++)
        {
            CloseAll(r.GetProperty("means")[l], means[l].Mean!, $"{means[l].Label} mean");
            CloseAll(r.GetProperty("variances")[l], means[l].Variance!, $"{means[l].Label} variance");
        }

        // contrast, against the baseline label and against all other labels
        for (int l = 0; l < 3; l++) AssertContrast(r.GetProperty("contrast_baseline").GetProperty(LabelledPrompts.Names[l]), Contrast.Compare(stats, l, 3), $"{LabelledPrompts.Names[l]} vs neutral");
        for (int l = 0; l < 4; l++) AssertContrast(r.GetProperty("contrast_rest").GetProperty(LabelledPrompts.Names[l]), Contrast.Compare(stats, l, -1), $"{LabelledPrompts.Names[l]} vs rest");

        // selectivity: preferred label and d' everywhere, the ratio index on codes
        var selectivity = r.GetProperty("selectivity");
        var dprime = Selectivity.Finish(stats, new SelectivityOptions(SelectivityIndex.DPrime));
        Assert.Equal(selectivity.GetProperty("preferred").EnumerateArray().Select(p => LabelledPrompts.Names[p.GetInt32()]), dprime.Features.Select(f => f.PreferredLabel));
        CloseAll(selectivity.GetProperty("dprime"), dprime.Features.Select(f => f.Index).ToArray(), "d'");
        if (sparse)
        {
            var ratio = Selectivity.Finish(stats, new SelectivityOptions(SelectivityIndex.Ratio));
            CloseAll(selectivity.GetProperty("ratio"), ratio.Features.Select(f => f.Index).ToArray(), "ratio");
            Assert.Contains(ratio.Features, f => f.Index is null && f.Note == "never active");
        }

        // PCA of the label means (4 items in 12 or 24 dimensions: the items' Gram matrix) ...
        AssertPca(r.GetProperty("pca_means"), ConceptPca.OfLabelMeans(stats, 3).Pca, "pca of label means");
        // ... and of the reduced prompts themselves (more items than dimensions: the covariance)
        var labelled = PromptReduction.Items(data.Whole, Options(reduction)).Items.Where(i => data.LabelOfSequence[i.Seq] >= 0).ToList();
        var items = new DenseMatrix(labelled.Count, data.Width, PromptReduction.Matrix(data.Whole, labelled));
        Assert.Equal(r.GetProperty("items").GetInt32(), items.Rows);
        AssertPca(r.GetProperty("pca_items"), Pca.Fit(items, 3), "pca of the prompts");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Statistics_do_not_depend_on_sharding_merge_order_or_a_trip_through_their_binary_state(bool sparse)
    {
        var data = LabelledPrompts.Generate(sequences: 120, width: 16, sparse, seed: 5);
        var options = Options(Reduction.Mean);
        var whole = LabelStatistics.FromBlock(data.Whole, data.Labels, options);
        var parts = data.Blocks(7).Select(b => LabelStatistics.FromBlock(b, data.Labels, options)).ToList();
        Assert.Equal(7, parts.Count);

        var leftFold = parts.Aggregate((a, b) => a.Merge(b));
        var rightFold = Enumerable.Reverse(parts).Aggregate((a, b) => b.Merge(a));
        var shuffled = parts.OrderBy(p => p.GetHashCode() % 5).Reverse().Aggregate((a, b) => b.Merge(a));
        var tree = Tree(parts.Select(p => LabelledPrompts.RoundTrip(p.Write, LabelStatistics.Read)).ToList());
        foreach (var merged in new[] { leftFold, rightFold, shuffled, tree })
        {
            Assert.Equal(whole.Counts, merged.Counts);
            Assert.Equal(whole.Reduction, merged.Reduction);
            Assert.Equal(whole.Unlabelled, merged.Unlabelled);
            for (int i = 0; i < whole.Sums.Length; i++)
            {
                Close(whole.Sums[i], merged.Sums[i], 1e-12, "sum");
                Close(whole.SumSquares[i], merged.SumSquares[i], 1e-12, "sum of squares");
            }
        }
        Assert.True(whole.Unlabelled > 0, "the data should hold unlabelled prompts");
        var back = LabelledPrompts.RoundTrip(whole.Write, LabelStatistics.Read);
        Assert.Equal(whole.Labels, back.Labels);
        Assert.Equal(whole.Counts, back.Counts);
        Assert.Equal(whole.Sums, back.Sums);
        Assert.Equal(whole.SumSquares, back.SumSquares);
        Assert.Equal((whole.Reduction, whole.Unlabelled), (back.Reduction, back.Unlabelled));
    }

    private static LabelStatistics Merged(LabelledPrompts data, Reduction reduction)
    {
        var parts = data.Blocks(5).Select(b => LabelStatistics.FromBlock(b, data.Labels, Options(reduction))).ToList();
        return Tree(parts);
    }

    /// <summary>A balanced merge tree, right half first.</summary>
    private static LabelStatistics Tree(IReadOnlyList<LabelStatistics> parts) => parts.Count == 1 ? parts[0]
        : Tree(parts.Skip(parts.Count / 2).ToList()).Merge(Tree(parts.Take(parts.Count / 2).ToList()));

    private static void AssertContrast(JsonElement expected, IReadOnlyList<ContrastFeature> actual, string what)
    {
        CloseAll(expected.GetProperty("diff"), actual.Select(f => (double?)f.Difference).ToArray(), what + " difference");
        CloseAll(expected.GetProperty("t"), actual.Select(f => f.T).ToArray(), what + " t");
        CloseAll(expected.GetProperty("df"), actual.Select(f => f.DegreesOfFreedom).ToArray(), what + " df");
        // p-values span hundreds of decades: relative tolerance only.
        CloseAll(expected.GetProperty("p").EnumerateArray().ToArray(), actual.Select(f => f.P).ToArray(), what + " p", scale: 0);
        CloseAll(expected.GetProperty("q").EnumerateArray().ToArray(), actual.Select(f => f.Q).ToArray(), what + " q", scale: 0);
        CloseAll(expected.GetProperty("d"), actual.Select(f => f.CohensD).ToArray(), what + " d");
    }

    private static void AssertPca(JsonElement expected, PcaResult actual, string what)
    {
        Assert.Equal(expected.GetProperty("ratio").GetArrayLength(), actual.Components);
        CloseAll(expected.GetProperty("ratio"), actual.ExplainedVarianceRatio, what + " ratio");
        CloseAll(expected.GetProperty("explained_variance"), actual.ExplainedVariance, what + " variance");
        for (int c = 0; c < actual.Components; c++)
        {
            CloseAll(expected.GetProperty("components")[c], actual.Loading(c).ToArray(), $"{what} component {c}", scale: 1);
            CloseAll(expected.GetProperty("coordinates").EnumerateArray().Select(row => row[c]).ToArray(),
                Enumerable.Range(0, actual.Items).Select(i => (double?)actual.Coordinate(i, c)).ToArray(), $"{what} coordinates {c}");
        }
    }

    private static void CloseAll(JsonElement expected, double[] actual, string what, double? scale = null) =>
        CloseAll(expected.EnumerateArray().ToArray(), actual.Select(v => (double?)v).ToArray(), what, scale);

    private static void CloseAll(JsonElement expected, double?[] actual, string what) => CloseAll(expected.EnumerateArray().ToArray(), actual, what);

    /// <summary>Null (undefined) exactly where the reference is null; elsewhere within 1e-6 relative of the largest magnitude in the vector.</summary>
    private static void CloseAll(JsonElement[] expected, double?[] actual, string what, double? scale = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        double largest = scale ?? expected.Where(e => e.ValueKind == JsonValueKind.Number).Select(e => Math.Abs(e.GetDouble())).DefaultIfEmpty(0).Max();
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i].ValueKind == JsonValueKind.Null) { Assert.True(actual[i] is null, $"{what}[{i}]: expected undefined, got {actual[i]}"); continue; }
            Assert.True(actual[i] is not null, $"{what}[{i}]: expected {expected[i].GetDouble()}, got undefined");
            Close(expected[i].GetDouble(), actual[i]!.Value, Relative, $"{what}[{i}]", largest);
        }
    }

    private static void Close(double expected, double actual, double relative, string what, double largest = 0)
    {
        double tolerance = relative * Math.Abs(expected) + 1e-9 * largest + 1e-300;
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"{what}: expected {expected:R}, got {actual:R}");
    }
}
