using Sweep.Analysis.Concepts;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>
/// The registered concept measures as the pipeline runs them: map units fold shard ranges into partials that travel
/// through the partial codec, merge units combine them in any order, a finalize unit finishes — the same results as one
/// fold of everything.
/// </summary>
public sealed class ConceptMeasureTests
{
    /// <summary>The corpus tokenizer of <see cref="LabelledPrompts"/>: BOS 1, and a text of numbers encodes to those ids.</summary>
    private static readonly CorpusTokenizer Tokenizer = new(LabelledPrompts.Bos, text => [.. text.Split(' ').Select(int.Parse)]);

    public static TheoryData<string, bool> Kinds()
    {
        var data = new TheoryData<string, bool>();
        foreach (var kind in new[] { "concept_means", "contrast", "selectivity", "pca" }) { data.Add(kind, false); data.Add(kind, true); }
        return data;
    }

    private static (ConceptMeasure Measure, ConceptParameters Parameters) Measure(string kind, bool sparse, ConceptParameters parameters)
    {
        var measure = (ConceptMeasure)MeasureRegistry.Find(kind, sparse ? SiteData.Sparse : SiteData.Dense)!;
        Assert.Null(measure.Check(parameters));
        return (measure, measure.ForCorpus(parameters, Tokenizer));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Map_units_over_shard_ranges_merged_in_any_order_finish_as_one_fold_of_every_shard(string kind, bool sparse)
    {
        var data = LabelledPrompts.Generate(sequences: 100, width: 16, sparse, seed: 17);
        var (measure, parameters) = Measure(kind, sparse, new ConceptParameters
        {
            Reduce = Reduction.Marker, Marker = "7 8", Baseline = kind == "contrast" ? "neutral" : null, TopK = 4,
            Order = ["tuesday", "monday", "wednesday", "neutral"], Exclude = kind == "selectivity" ? ["neutral"] : [],
        });
        Assert.Equal([7, 8], parameters.MarkerIds!);
        Assert.Equal(LabelledPrompts.Bos, parameters.BosId);
        var shape = new MeasureShape(data.Width, null, measure.Data);
        var whole = measure.Compute(parameters, shape, () => [data.ToMeasureBlock(data.Whole)]);

        var blocks = data.MeasureBlocks(6);
        var partials = new[] { blocks.Take(2), blocks.Skip(2).Take(3), blocks.Skip(5) }
            .Select(range => LabelledPrompts.RoundTrip(w => measure.Write(measure.Fold(parameters, shape, 0, () => range), w),
                r => (ConceptPartial)measure.Read(parameters, shape, 0, r))).ToList();
        ConceptPartial Merge(ConceptPartial a, ConceptPartial b) => (ConceptPartial)measure.Merge(parameters, a, b);
        var forward = measure.Finish(parameters, shape, [Merge(Merge(partials[0], partials[1]), partials[2])], SideInputs.None);
        var backward = measure.Finish(parameters, shape, [Merge(partials[2], Merge(partials[1], partials[0]))], SideInputs.None);
        var tree = measure.ComputeSplit(parameters, shape, [.. blocks.Select(b => (Func<IEnumerable<MeasureBlock>>)(() => [b]))]);

        var expected = whole.Concepts!;
        foreach (var merged in new[] { forward, backward, tree })
        {
            Assert.Equal(expected.Counts, merged.Concepts!.Counts);
            Assert.Equal(expected.Unlabelled, merged.Concepts.Unlabelled);
            Assert.Equal(Numbers(expected), Numbers(merged.Concepts), (a, b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a)));
            Assert.Equal(whole.Values.Select(v => (v.Measure, v.Count, v.Value)), merged.Values.Select(v => (v.Measure, v.Count, v.Value)));
        }
        Assert.True(expected.Counts.WithoutMarker > 0, "some prompts lack the marker");
        Assert.True(expected.Unlabelled > 0, "items of unlabelled prompts are counted apart");
        var items = whole.Values.Single(v => v.Measure == "concept_items");
        Assert.Equal(expected.Counts.Items - expected.Unlabelled, items.Count);
        Assert.Equal(expected.Counts.WithoutMarker, items.Parameters["without_marker"]);
        Assert.Equal((ConceptKind)Enum.Parse(typeof(ConceptKind), kind.Replace("_", ""), ignoreCase: true), expected.Kind);
        if (expected.Means is { } means) Assert.Equal(expected.Counts.Items, means.Sum(m => m.Count) + expected.Unlabelled);
        if (kind == "pca")
        {
            Assert.Equal(["tuesday", "monday", "wednesday", "neutral"], expected.Pca!.Points.Select(p => p.Label));
            Assert.Equal(expected.Pca.Pca.ExplainedVarianceRatio[0] + expected.Pca.Pca.ExplainedVarianceRatio[1],
                whole.Values.Single(v => v.Measure == "pca_top2_variance_ratio").Value!.Value, 12);
        }
        if (kind == "selectivity") Assert.Equal(sparse ? SelectivityIndex.Ratio : SelectivityIndex.DPrime, expected.Selectivity!.Index);
    }

    [Fact]
    public void A_PCA_of_sampled_prompts_folds_samples_and_a_PCA_of_decoder_rows_reads_no_activations()
    {
        var data = LabelledPrompts.Generate(sequences: 60, width: 8, sparse: false, seed: 2);
        var (sampled, parameters) = Measure("pca", false, new ConceptParameters { Source = PcaSource.Sample, MaxItems = 30, Components = 2 });
        var shape = new MeasureShape(8, null, SiteData.Dense);
        var outcome = sampled.ComputeSplit(parameters, shape, [.. data.MeasureBlocks(3).Select(b => (Func<IEnumerable<MeasureBlock>>)(() => [b]))]).Concepts!;
        Assert.Equal(30, outcome.Pca!.ItemIds!.Length);
        Assert.Equal(PcaSource.Sample, outcome.Pca.Source);

        var (decoder, decoderParameters) = Measure("pca", true, new ConceptParameters { Source = PcaSource.Decoder, Components = 2 });
        Assert.Null(decoder.LabelField(decoderParameters));
        var rows = TestData.Gaussian(12, 5, seed: 1);
        var result = decoder.Compute(decoderParameters, new MeasureShape(12, null, SiteData.Sparse),
            () => throw new InvalidOperationException("a PCA of decoder rows must not read activations"), new SideInputs { SiteDecoder = () => rows });
        Assert.Equal(12, result.Concepts!.Pca!.ItemIds!.Length);
        Assert.Equal(Pca.Fit(rows, 2).ExplainedVarianceRatio, result.Concepts.Pca.Pca.ExplainedVarianceRatio);
        Assert.DoesNotContain(result.Values, v => v.Measure == "concept_items");
    }

    [Fact]
    public void Parameters_that_do_not_fit_their_kind_name_the_key()
    {
        ParameterProblem? Check(string kind, ConceptParameters p, SiteData data = SiteData.Dense) => MeasureRegistry.Find(kind, data)!.Check(p);
        Assert.Null(Check("concept_means", new ConceptParameters()));
        Assert.Equal("marker", Check("contrast", new ConceptParameters { Reduce = Reduction.Marker })!.Key);
        Assert.Equal(new ParameterProblem("marker", "is set but reduce is last, expected reduce: marker (or no marker)"), Check("contrast", new ConceptParameters { Marker = " Monday" }));
        Assert.Equal("order[1]", Check("pca", new ConceptParameters { Order = ["a", "a", "b"] })!.Key);
        Assert.Equal("cyclic", Check("pca", new ConceptParameters { Order = ["a", "b"], Cyclic = true })!.Key);
        Assert.Equal("baseline", Check("contrast", new ConceptParameters { Order = ["a", "b"], Baseline = "c" })!.Key);
        Assert.Equal("exclude[0]", Check("selectivity", new ConceptParameters { Order = ["a", "b"], Exclude = ["c"] })!.Key);
        Assert.Equal("source", Check("pca", new ConceptParameters { Source = PcaSource.Decoder })!.Key);
        Assert.Null(Check("pca", new ConceptParameters { Source = PcaSource.Decoder }, SiteData.Sparse));

        // The marker's ids come from the corpus tokenizer; without one, or when the marker encodes to nothing, there is no reduction.
        var contrast = MeasureRegistry.Find("contrast", SiteData.Dense)!;
        var marker = new ConceptParameters { Reduce = Reduction.Marker, Marker = " x" };
        Assert.Throws<ArgumentException>(() => contrast.ForCorpus(marker, CorpusTokenizer.None));
        Assert.Throws<ArgumentException>(() => contrast.ForCorpus(marker, new CorpusTokenizer(null, _ => [])));
        Assert.Throws<InvalidOperationException>(() => marker.ToReductionOptions());
        Assert.Equal(new ConceptParameters { BosId = 3 }, contrast.ForCorpus(new ConceptParameters(), new CorpusTokenizer(3, null)));
    }

    [Fact]
    public void An_unlabelled_corpus_an_unknown_field_a_marker_without_tokenizer_and_labels_that_do_not_occur_are_refused_at_their_key()
    {
        var fields = new[] { "label", "group" };
        IReadOnlyList<string> Values(string field) => field == "label" ? ["monday", "tuesday", "neutral"] : ["day", "neutral"];
        var read = new CorpusFacts(fields, "m", HasTokenizer: true, Values);
        IReadOnlyList<ParameterProblem> Check(string kind, ConceptParameters p, CorpusFacts facts) => MeasureRegistry.Find(kind, SiteData.Dense)!.CheckCorpus(p, facts);

        Assert.Empty(Check("contrast", new ConceptParameters { Baseline = "neutral", Order = ["tuesday", "monday", "neutral"] }, read));
        Assert.Equal([new ParameterProblem("reduce", "is last, which groups prompts by label, but the corpus is unlabelled; expected corpus.labels naming the jsonl fields that label each document (docs/jobs.md, \"Labels\")")],
            Check("concept_means", new ConceptParameters(), new CorpusFacts([], "m", true)));
        Assert.Equal([new ParameterProblem("label_field", "is 'topic', which is not a label field of the corpus, expected one of: label, group (corpus.labels)")],
            Check("pca", new ConceptParameters { LabelField = "topic" }, new CorpusFacts(fields, "m", true)));
        Assert.Equal([new ParameterProblem("baseline", "is 'neutrl', a label that does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral (or rest)")],
            Check("contrast", new ConceptParameters { Baseline = "neutrl" }, read));
        Assert.Equal([new ParameterProblem("order[1]", "is 'day', a label that does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral")],
            Check("pca", new ConceptParameters { Order = ["monday", "day"] }, read));
        Assert.Empty(Check("selectivity", new ConceptParameters { LabelField = "group", Order = ["day", "neutral"], Exclude = ["neutral"] }, read));
        Assert.Equal("exclude[0]", Check("selectivity", new ConceptParameters { Exclude = ["friday"] }, read).Single().Key);
        Assert.Equal("marker", Check("contrast", new ConceptParameters { Reduce = Reduction.Marker, Marker = " x" }, read with { HasTokenizer = false }).Single().Key);
        // A PCA of decoder rows reads no labels: nothing to check.
        Assert.Empty(MeasureRegistry.Find("pca", SiteData.Sparse)!.CheckCorpus(new ConceptParameters { Source = PcaSource.Decoder }, new CorpusFacts([], "m", false)));
    }

    /// <summary>Every number of a result, in a fixed order.</summary>
    private static IEnumerable<double> Numbers(ConceptResult o) =>
        (o.Means ?? []).SelectMany(m => new double[] { m.Count }.Concat(m.Mean ?? []).Concat(m.Variance ?? []))
        .Concat((o.Contrast?.Top ?? []).SelectMany(f => new[] { f.Feature, f.Rank, f.Difference, f.T ?? -1, f.P ?? -1, f.Q ?? -1, f.CohensD ?? -1 }))
        .Concat((o.Contrast?.Labels ?? []).SelectMany(l => new double[] { l.CountLabel, l.CountBaseline, l.Tested, l.Significant }))
        .Concat((o.Selectivity?.Features ?? []).SelectMany(f => new[] { f.Feature, f.Rank, f.Index ?? -1, f.PreferredMean, f.OthersMean }))
        .Concat(o.Pca is { } p ? p.Pca.ExplainedVarianceRatio.Concat(p.Pca.Coordinates).Concat(p.Pca.Loadings) : []);
}
