using Sweep.Analysis.Concepts;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>PCA conventions (sign, rank, label points) and the seeded prompt sample (sharding-independent, mergeable, serializable).</summary>
public sealed class PcaAndSampleTests
{
    [Fact]
    public void Each_component_has_its_largest_loading_positive_and_coordinates_follow_the_flip()
    {
        var items = TestData.Gaussian(30, 6, seed: 2);
        var pca = Pca.Fit(items, 4);
        var negated = Pca.Fit(new DenseMatrix(30, 6, items.Data.Select(v => -v).ToArray()), 4);
        for (int c = 0; c < 4; c++)
        {
            var loading = pca.Loading(c).ToArray();
            Assert.True(loading.MaxBy(Math.Abs) > 0);
            // Negating the data negates the coordinates' directions too, so the convention gives the same components.
            Assert.Equal(loading, negated.Loading(c).ToArray(), (a, b) => Math.Abs(a - b) < 1e-12);
            for (int i = 0; i < 30; i++) Assert.Equal(-pca.Coordinate(i, c), negated.Coordinate(i, c), 10);
        }
        Assert.True(pca.ExplainedVarianceRatio.Sum() < 1);
    }

    [Fact]
    public void Items_of_lower_rank_give_only_the_components_they_have()
    {
        // Four points on a line in 5-D: one direction of variance, whatever is asked.
        var line = new DenseMatrix(4, 5, [.. Enumerable.Range(0, 4).SelectMany(i => new[] { i, 2.0 * i, 0, -i, 3 })]);
        var pca = Pca.Fit(line, 3);
        Assert.Equal(1, pca.Components);
        Assert.Equal(1.0, pca.ExplainedVarianceRatio[0], 12);
        Assert.Throws<ArgumentException>(() => Pca.Fit(new DenseMatrix(3, 2, [1, 1, 1, 1, 1, 1]), 2));
        Assert.Throws<ArgumentException>(() => Pca.Fit(new DenseMatrix(1, 2, [1, 2]), 1));
    }

    [Fact]
    public void The_PCA_of_label_means_follows_the_given_label_order_and_names_labels_without_items()
    {
        var data = LabelledPrompts.Generate(sequences: 80, width: 10, sparse: false, seed: 3);
        var stats = LabelStatistics.FromBlock(data.Whole, data.Labels.Restrict(["wednesday", "monday", "tuesday", "neutral"]), new ReductionOptions(Reduction.Last, 1));
        var result = ConceptPca.OfLabelMeans(stats, 2, ["tuesday", "monday", "neutral"]);
        Assert.Equal(["tuesday", "monday", "neutral"], result.Points.Select(p => p.Label));
        Assert.Equal([0, 1, 2], result.Points.Select(p => p.Order));
        Assert.Equal(2, result.Pca.Components);
        Assert.Null(result.Note);
        // The centred means' coordinates sum to zero on each component.
        Assert.Equal(0, result.Points.Sum(p => p.Coordinates[0]), 9);
        Assert.Throws<ArgumentException>(() => ConceptPca.OfLabelMeans(stats, 2, ["friday", "monday"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void A_prompt_sample_keeps_the_same_items_however_the_prompts_are_sharded_and_survives_its_binary_state(bool sparse)
    {
        var data = LabelledPrompts.Generate(sequences: 150, width: 16, sparse, seed: 9);
        var options = new ReductionOptions(Reduction.Every, LabelledPrompts.Bos);
        var whole = PromptSample.FromBlock(data.Whole, data.Labels, options, capacity: 40, seed: 3);
        var parts = data.Blocks(6).Select(b => PromptSample.FromBlock(b, data.Labels, options, 40, 3)).ToList();
        var merged = parts.AsEnumerable().Reverse().Aggregate((a, b) => b.Merge(a));
        var roundTrip = LabelledPrompts.RoundTrip(merged.Write, PromptSample.Read);
        var expected = whole.ToMatrix();
        foreach (var sample in new[] { merged, roundTrip })
        {
            var (ids, labels, vectors) = sample.ToMatrix();
            Assert.Equal(expected.Ids, ids);
            Assert.Equal(expected.Labels, labels);
            Assert.Equal(expected.Vectors.Data, vectors.Data);
        }
        Assert.Equal(40, whole.Count);
        Assert.All(expected.Labels, l => Assert.InRange(l, 0, 3));   // unlabelled prompts never enter
        var other = PromptSample.FromBlock(data.Whole, data.Labels, options, capacity: 40, seed: 4);
        Assert.NotEqual(expected.Ids, other.ToMatrix().Ids);

        var pca = ConceptPca.OfSample(roundTrip, 2);
        Assert.Equal(40, pca.ItemIds!.Length);
        Assert.Equal(pca.Points.Count, pca.ItemLabels!.Distinct().Count());
    }

    [Fact]
    public void Label_statistics_read_back_refuse_sections_that_do_not_fit_together_and_a_truncated_partial()
    {
        var data = LabelledPrompts.Generate(sequences: 20, width: 4, sparse: false, seed: 1);
        var stats = LabelStatistics.FromBlock(data.Whole, data.Labels, new ReductionOptions(Reduction.Last));
        using var buffer = new MemoryStream();
        var writer = new Sweep.Analysis.Measures.PartialWriter(buffer);
        stats.Write(writer);
        writer.Flush();
        var bytes = buffer.ToArray();
        Assert.Throws<EndOfStreamException>(() => LabelStatistics.Read(new Sweep.Analysis.Measures.PartialReader(new MemoryStream(bytes[..^3]))));

        // Width 5 announced for sums of width 4: refused.
        using var wrong = new MemoryStream();
        var w = new Sweep.Analysis.Measures.PartialWriter(wrong);
        w.Write("labels", stats.Labels);
        w.Write("width", 5L);
        w.Write("counts", stats.Counts);
        w.Write("sums", stats.Sums);
        w.Write("sum_squares", stats.SumSquares);
        w.Write("reduction", new long[4]);
        w.Write("unlabelled", 0L);
        w.Flush();
        wrong.Position = 0;
        Assert.Throws<InvalidDataException>(() => LabelStatistics.Read(new Sweep.Analysis.Measures.PartialReader(wrong)));
        Assert.Equal(["monday", "tuesday", "wednesday", "neutral"], LabelledPrompts.RoundTrip(stats.Write, LabelStatistics.Read).Labels);
    }
}
