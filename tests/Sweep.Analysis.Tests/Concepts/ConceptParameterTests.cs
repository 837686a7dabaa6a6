using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>What the concept parameters refuse, by key: alone, and against the corpus's labels.</summary>
public sealed class ConceptParameterTests
{
    private static readonly string[] Fields = ["label", "group"];
    private static IReadOnlyList<string> Values(string field) => field == "label" ? ["monday", "tuesday", "neutral"] : ["day", "neutral"];

    [Fact]
    public void Parameters_that_do_not_fit_their_kind_name_the_key()
    {
        Assert.Null(new ConceptParameters().Validate(ConceptKind.ConceptMeans));
        Assert.StartsWith("marker:", new ConceptParameters { Reduce = Reduction.Marker }.Validate(ConceptKind.Contrast));
        Assert.StartsWith("marker:", new ConceptParameters { Marker = " Monday" }.Validate(ConceptKind.Contrast));
        Assert.StartsWith("order:", new ConceptParameters { Order = ["a", "a"] }.Validate(ConceptKind.Pca));
        Assert.StartsWith("cyclic:", new ConceptParameters { Order = ["a", "b"], Cyclic = true }.Validate(ConceptKind.Pca));
        Assert.StartsWith("baseline:", new ConceptParameters { Order = ["a", "b"], Baseline = "c" }.Validate(ConceptKind.Contrast));
        Assert.StartsWith("top_k:", new ConceptParameters { TopK = 0 }.Validate(ConceptKind.Selectivity));
        var marker = new ConceptParameters { Reduce = Reduction.Marker, Marker = "x" }.ToReductionOptions(1, [5, 6]);
        Assert.Equal((Reduction.Marker, (int?)1), (marker.Kind, marker.BosId));
        Assert.Equal([5, 6], marker.Marker!);
        Assert.Null(new ConceptParameters().ToReductionOptions(1, [5, 6]).Marker);   // ids are used by the marker reduction only
    }

    [Fact]
    public void An_unlabelled_corpus_an_unknown_field_and_labels_that_do_not_occur_are_refused_at_their_key()
    {
        Assert.Null(new ConceptParameters { Baseline = "neutral", Order = ["tuesday", "monday"] }.CheckCorpus(Fields, Values));
        Assert.StartsWith("kind: a concept analysis groups prompts by label, but the corpus is unlabelled", new ConceptParameters().CheckCorpus([], Values));
        Assert.Equal("label_field: 'topic' is not a label field of the corpus, expected one of: label, group",
            new ConceptParameters { LabelField = "topic" }.CheckCorpus(Fields, Values));
        Assert.Equal("baseline: label 'neutrl' does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral (or rest)",
            new ConceptParameters { Baseline = "neutrl" }.CheckCorpus(Fields, Values));
        Assert.Equal("order[1]: label 'day' does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral",
            new ConceptParameters { Order = ["monday", "day"] }.CheckCorpus(Fields, Values));
        Assert.Null(new ConceptParameters { LabelField = "group", Order = ["day"], Exclude = ["neutral"] }.CheckCorpus(Fields, Values));
        Assert.StartsWith("exclude:", new ConceptParameters { Exclude = ["friday"] }.CheckCorpus(Fields, Values));
    }
}
