using Sweep.Analysis.Concepts;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>
/// The concept measure objects as the pipeline will run them: map units fold shard ranges into partials that travel as
/// bytes, merge units combine them in any order, a finalize unit finishes — the same results as one fold of everything.
/// </summary>
public sealed class ConceptMeasureTests
{
    public static TheoryData<ConceptKind, bool> Kinds()
    {
        var data = new TheoryData<ConceptKind, bool>();
        foreach (var kind in Enum.GetValues<ConceptKind>()) { data.Add(kind, false); data.Add(kind, true); }
        return data;
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Map_units_over_shard_ranges_merged_in_any_order_finish_as_one_fold_of_every_shard(ConceptKind kind, bool sparse)
    {
        var data = LabelledPrompts.Generate(sequences: 100, width: 16, sparse, seed: 17);
        var parameters = new ConceptParameters
        {
            Reduce = Reduction.Marker, Marker = "7 8", Baseline = kind == ConceptKind.Contrast ? "neutral" : null, TopK = 4,
            Order = ["tuesday", "monday", "wednesday", "neutral"], Exclude = kind == ConceptKind.Selectivity ? ["neutral"] : [],
        };
        var measure = new ConceptMeasure(kind, parameters, data.Labels, sparse, LabelledPrompts.Bos, LabelledPrompts.Marker);
        var whole = measure.Finish(measure.Fold([data.Whole]));

        var blocks = data.Blocks(6);
        var partials = new[] { blocks.Take(2), blocks.Skip(2).Take(3), blocks.Skip(5) }
            .Select(range => NamedArrays.FromBytes(measure.Fold(range).ToBytes())).ToList();
        var forward = measure.Finish(measure.Merge(measure.Merge(partials[0], partials[1]), partials[2]));
        var backward = measure.Finish(measure.Merge(partials[2], measure.Merge(partials[1], partials[0])));

        foreach (var merged in new[] { forward, backward })
        {
            Assert.Equal(whole.Reduction, merged.Reduction);
            Assert.Equal(whole.Unlabelled, merged.Unlabelled);
            Assert.Equal(Numbers(whole), Numbers(merged), (a, b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a)));
        }
        Assert.True(whole.Reduction.WithoutMarker > 0, "some prompts lack the marker");
        Assert.True(whole.Unlabelled > 0, "items of unlabelled prompts are counted apart");
        if (whole.Means is { } means) Assert.Equal(whole.Reduction.Items, means.Sum(m => m.Count) + whole.Unlabelled);
        if (kind == ConceptKind.Pca) Assert.Equal(["tuesday", "monday", "wednesday", "neutral"], whole.Pca!.Points.Select(p => p.Label));
        if (kind == ConceptKind.Selectivity)
            Assert.Equal(sparse ? SelectivityIndex.Ratio : SelectivityIndex.DPrime, whole.Selectivity!.Index);
    }

    [Fact]
    public void A_PCA_of_sampled_prompts_folds_samples_and_a_PCA_of_decoder_rows_folds_nothing()
    {
        var data = LabelledPrompts.Generate(sequences: 60, width: 8, sparse: false, seed: 2);
        var sampled = new ConceptMeasure(ConceptKind.Pca, new ConceptParameters { Source = PcaSource.Sample, MaxItems = 30, Components = 2 }, data.Labels, false);
        var partial = data.Blocks(3).Select(b => sampled.Fold([b])).Aggregate(sampled.Merge);
        var outcome = sampled.Finish(partial);
        Assert.Equal(30, outcome.Pca!.ItemIds!.Length);
        Assert.Equal(PcaSource.Sample, outcome.Pca.Source);

        var decoder = new ConceptMeasure(ConceptKind.Pca, new ConceptParameters { Source = PcaSource.Decoder, Components = 2 }, data.Labels, true);
        Assert.Throws<InvalidOperationException>(() => decoder.Fold([data.Whole]));
        Assert.Equal(12, decoder.FinishDecoder(TestData.Gaussian(12, 5, seed: 1)).Pca!.ItemIds!.Length);
        Assert.Throws<ArgumentException>(() => new ConceptMeasure(ConceptKind.Contrast, new ConceptParameters { TopK = 0 }, data.Labels, false));
    }

    /// <summary>Every number of an outcome, in a fixed order.</summary>
    private static IEnumerable<double> Numbers(ConceptOutcome o) =>
        (o.Means ?? []).SelectMany(m => new double[] { m.Count }.Concat(m.Mean ?? []).Concat(m.Variance ?? []))
        .Concat((o.Contrast?.Top ?? []).SelectMany(f => new[] { f.Feature, f.Rank, f.Difference, f.T ?? -1, f.P ?? -1, f.Q ?? -1, f.CohensD ?? -1 }))
        .Concat((o.Contrast?.Labels ?? []).SelectMany(l => new double[] { l.CountLabel, l.CountBaseline, l.Tested, l.Significant }))
        .Concat((o.Selectivity?.Features ?? []).SelectMany(f => new[] { f.Feature, f.Rank, f.Index ?? -1, f.PreferredMean, f.OthersMean }))
        .Concat(o.Pca is { } p ? p.Pca.ExplainedVarianceRatio.Concat(p.Pca.Coordinates).Concat(p.Pca.Loadings) : []);
}
