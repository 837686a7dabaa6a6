using System.Text.Json;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Concepts;

/// <summary>The four site measures that look inside one model, as jobs name them.</summary>
public enum ConceptKind { ConceptMeans, Contrast, Selectivity, Pca }

/// <summary><c>index</c> of <c>selectivity</c>: <see cref="Auto"/> picks ratio on SAE code sites, dprime on dense sites.</summary>
public enum SelectivityChoice { Auto, Ratio, DPrime }

/// <summary>
/// The parameters of a concept analysis, one record for the four kinds (docs/jobs.md, "Concept analyses": the YAML key
/// of each property is given beside it; each kind declares only its own keys). Every kind groups reduced prompts by
/// one label field; the kinds differ in what they finish. <see cref="BosId"/> and <see cref="MarkerIds"/> are no keys:
/// the pipeline fills them from the corpus tokenizer before anything is folded.
/// </summary>
public sealed record ConceptParameters : MeasureParameters
{
    /// <summary>What <c>baseline</c> says for "all other labels pooled" (<see cref="Baseline"/> null).</summary>
    public const string Rest = Concepts.Contrast.Rest;

    /// <summary><c>reduce</c>: last | mean | every | marker.</summary>
    public Reduction Reduce { get; init; } = Reduction.Last;

    /// <summary><c>marker</c>: the marker text (required with <c>reduce: marker</c>); the pipeline encodes it with the corpus tokenizer.</summary>
    public string? Marker { get; init; }

    /// <summary><c>label_field</c>: which of <c>corpus.labels</c> groups the prompts.</summary>
    public string LabelField { get; init; } = "label";

    /// <summary><c>order</c>: the labels that take part, in this order (all, in order of first appearance, when null).</summary>
    public IReadOnlyList<string>? Order { get; init; }

    /// <summary><c>baseline</c> (contrast): a label, or null for <c>rest</c> (all other labels pooled).</summary>
    public string? Baseline { get; init; }

    /// <summary><c>top_k</c> (contrast, selectivity): features kept per label.</summary>
    public int TopK { get; init; } = 20;

    /// <summary><c>rank_by</c> (contrast): d | t | difference.</summary>
    public ContrastRanking RankBy { get; init; } = ContrastRanking.CohensD;

    /// <summary><c>direction</c> (contrast): higher | lower | both.</summary>
    public ContrastDirection Direction { get; init; } = ContrastDirection.Higher;

    /// <summary><c>index</c> (selectivity): auto | ratio | dprime.</summary>
    public SelectivityChoice Index { get; init; } = SelectivityChoice.Auto;

    /// <summary><c>exclude</c> (selectivity): labels neither preferred nor among the others (e.g. a neutral baseline).</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary><c>source</c> (pca): label_means | sample | decoder.</summary>
    public PcaSource Source { get; init; } = PcaSource.LabelMeans;

    /// <summary><c>components</c> (pca).</summary>
    public int Components { get; init; } = 3;

    /// <summary><c>cyclic</c> (pca): the label order is a cycle (days, months); the report closes the loop.</summary>
    public bool Cyclic { get; init; }

    /// <summary><c>max_items</c> (pca with source sample): the sample's capacity.</summary>
    public int MaxItems { get; init; } = 1000;

    /// <summary><c>seed</c> (pca with source sample).</summary>
    public int Seed { get; init; }

    /// <summary>The tokenizer's BOS id when the corpus's sequences start with it (from the corpus tokenizer; no key).</summary>
    public int? BosId { get; init; }

    /// <summary>The marker text's token ids (from the corpus tokenizer; no key).</summary>
    public IReadOnlyList<int>? MarkerIds { get; init; }

    /// <summary>Whether the kind reads activations grouped by label (every kind but a PCA of decoder rows).</summary>
    public bool ReadsLabels(ConceptKind kind) => !(kind == ConceptKind.Pca && Source == PcaSource.Decoder);

    /// <summary>The reduction as <see cref="PromptReduction"/> takes it (the marker's ids must have been filled in).</summary>
    public ReductionOptions ToReductionOptions() =>
        Reduce == Reduction.Marker && MarkerIds is not { Count: > 0 }
            ? throw new InvalidOperationException("the marker's token ids were not filled in from the corpus tokenizer")
            : new(Reduce, BosId, Reduce == Reduction.Marker ? MarkerIds : null);

    /// <summary>The problems of these parameters for <paramref name="kind"/> on <paramref name="data"/>, each at its key (after "analyses[i].KEY ").</summary>
    public IEnumerable<ParameterProblem> Problems(ConceptKind kind, SiteData data)
    {
        if (kind == ConceptKind.Pca && Source == PcaSource.Decoder)
        {
            if (data == SiteData.Dense)
                yield return new("source", "is decoder, which decomposes an SAE's decoder rows, expected sites: sae (or source: label_means or sample)");
            yield break;
        }
        if (Reduce == Reduction.Marker && string.IsNullOrEmpty(Marker))
            yield return new("marker", "is missing, expected the marker text with reduce: marker, e.g. marker: \" Monday\"");
        if (Reduce != Reduction.Marker && Marker is not null)
            yield return new("marker", $"is set but reduce is {Name(Reduce)}, expected reduce: marker (or no marker)");
        var order = Order ?? [];
        for (int i = 0; i < order.Count; i++)
            if (order.Take(i).Contains(order[i], StringComparer.Ordinal))
                yield return new($"order[{i}]", $"'{order[i]}' is listed twice, expected each label once");
        if (Order is not null)
        {
            for (int i = 0; i < Exclude.Count; i++)
                if (!Order.Contains(Exclude[i], StringComparer.Ordinal))
                    yield return new($"exclude[{i}]", $"'{Exclude[i]}' is not in order, expected one of: {string.Join(", ", Order)}");
            if (kind == ConceptKind.Contrast && Baseline is { } b && !Order.Contains(b, StringComparer.Ordinal))
                yield return new("baseline", $"'{b}' is not in order, expected one of: {string.Join(", ", Order)} (or rest)");
        }
        if (kind == ConceptKind.Pca)
        {
            if (Source == PcaSource.LabelMeans && Order is { Count: < 2 })
                yield return new("order", $"lists {Order.Count} label, expected at least two for a PCA of label means");
            if (Cyclic && Order is { Count: < 3 })
                yield return new("cyclic", $"is true with {Order.Count} labels in order, expected at least three labels for a cycle");
        }
    }

    /// <summary>
    /// The problems of these parameters with the corpus, each at its key: a marker without a corpus tokenizer, an
    /// unlabelled corpus (at <c>reduce</c>), a <c>label_field</c> the corpus does not label, and once its values are known a
    /// <c>baseline</c>, <c>order</c> entry or excluded label that no prompt carries.
    /// </summary>
    public IEnumerable<ParameterProblem> CorpusProblems(ConceptKind kind, CorpusFacts corpus)
    {
        if (!ReadsLabels(kind)) yield break;
        if (Reduce == Reduction.Marker && !corpus.HasTokenizer)
            yield return new("marker", $"is {JsonSerializer.Serialize(Marker)}, but the marker reduction needs the corpus tokenizer to find its tokens and " +
                $"model '{corpus.TokenizerModel}' has no tokenizer files; expected corpus.tokenizer naming a model with tokenizer files, or reduce: last, mean or every");
        if (corpus.LabelFields.Count == 0)
        {
            yield return new("reduce", $"is {Name(Reduce)}, which groups prompts by label, but the corpus is unlabelled; " +
                "expected corpus.labels naming the jsonl fields that label each document (docs/jobs.md, \"Labels\")");
            yield break;
        }
        if (!corpus.LabelFields.Contains(LabelField, StringComparer.Ordinal))
        {
            yield return new("label_field", $"is '{LabelField}', which is not a label field of the corpus, expected one of: {string.Join(", ", corpus.LabelFields)} (corpus.labels)");
            yield break;
        }
        if (corpus.LabelValues?.Invoke(LabelField) is not { } values) yield break;
        string Known() => string.Join(", ", values.Take(30)) + (values.Count > 30 ? $", … ({values.Count} labels)" : "");
        string Absent(string label) => $"is '{label}', a label that does not occur in the corpus's '{LabelField}' field, expected one of: {Known()}";
        if (kind == ConceptKind.Contrast && Baseline is { } baseline && !values.Contains(baseline, StringComparer.Ordinal))
            yield return new("baseline", Absent(baseline) + " (or rest)");
        for (int i = 0; i < (Order?.Count ?? 0); i++)
            if (!values.Contains(Order![i], StringComparer.Ordinal)) yield return new($"order[{i}]", Absent(Order[i]));
        if (kind == ConceptKind.Selectivity)
            for (int i = 0; i < Exclude.Count; i++)
                if (!values.Contains(Exclude[i], StringComparer.Ordinal)) yield return new($"exclude[{i}]", Absent(Exclude[i]));
    }

    /// <summary>A reduction as jobs and the concept tables spell it.</summary>
    public static string Name(Reduction reduction) => reduction.ToString().ToLowerInvariant();
}
