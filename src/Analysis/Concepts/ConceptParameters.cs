namespace Sweep.Analysis.Concepts;

/// <summary>The four site measures that look inside one model, as jobs name them.</summary>
public enum ConceptKind { ConceptMeans, Contrast, Selectivity, Pca }

/// <summary>
/// The parameters of a concept analysis, one record for the four kinds (docs/jobs.md, "Concept analyses": the YAML key
/// of each property is given beside it). Every kind groups reduced prompts by one label field; the kinds differ in what
/// they finish. <see cref="Validate"/> names the first parameter that does not fit the kind.
/// </summary>
public sealed record ConceptParameters
{
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

    /// <summary><c>index</c> (selectivity): ratio | dprime; null (<c>auto</c>) picks ratio on SAE code sites, dprime on dense sites.</summary>
    public SelectivityIndex? Index { get; init; }

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

    /// <summary>The reduction options, given the corpus's BOS id (when it adds one) and the marker's token ids.</summary>
    public ReductionOptions ToReductionOptions(int? bosId, IReadOnlyList<int>? markerIds) =>
        new(Reduce, bosId, Reduce == Reduction.Marker ? markerIds : null);

    /// <summary>Null when the parameters fit <paramref name="kind"/>, else "key: what is wrong, what was expected".</summary>
    public string? Validate(ConceptKind kind)
    {
        if (Reduce == Reduction.Marker && string.IsNullOrEmpty(Marker)) return "marker: reduce: marker needs the marker text, expected marker: \"...\"";
        if (Reduce != Reduction.Marker && Marker is not null) return $"marker: given but reduce is {Reduce.ToString().ToLowerInvariant()}, expected reduce: marker";
        if (Order is { } order && order.Distinct(StringComparer.Ordinal).Count() != order.Count) return "order: a label is listed twice, expected each once";
        if (TopK < 1) return $"top_k: {TopK}, expected a positive integer";
        if (Order is { } kept && Exclude.FirstOrDefault(e => !kept.Contains(e)) is { } outside) return $"exclude: '{outside}' is not in order, expected one of: {string.Join(", ", kept)}";
        if (kind == ConceptKind.Contrast && Baseline is { } b && Order is { } l && !l.Contains(b)) return $"baseline: '{b}' is not in order, expected one of: {string.Join(", ", l)}";
        if (kind == ConceptKind.Pca)
        {
            if (Components < 1) return $"components: {Components}, expected a positive integer";
            if (Source == PcaSource.Sample && MaxItems < 3) return $"max_items: {MaxItems}, expected at least 3";
            if (Source == PcaSource.LabelMeans && Order is { Count: < 2 }) return "order: a PCA of label means needs at least two labels";
            if (Cyclic && Order is { Count: < 3 }) return "cyclic: a cycle needs at least three labels in order";
        }
        return null;
    }

    /// <summary>
    /// Null when the corpus can serve these parameters, else "key: what is wrong, what was expected" for the first problem:
    /// an unlabelled corpus (at <c>kind</c>), a <c>label_field</c> the corpus does not label, a <c>baseline</c> or an
    /// <c>order</c> entry that no prompt carries, an excluded label that does not occur. The wiring checks this once the
    /// corpus is read and reports it at the key's line and column.
    /// </summary>
    /// <param name="corpusFields">The corpus's <c>corpus.labels</c> (empty: unlabelled).</param>
    /// <param name="valuesOf">The values a label field takes in the corpus.</param>
    public string? CheckCorpus(IReadOnlyList<string> corpusFields, Func<string, IReadOnlyList<string>> valuesOf)
    {
        if (corpusFields.Count == 0)
            return $"kind: a concept analysis groups prompts by label, but the corpus is unlabelled; expected corpus.labels naming the jsonl label fields (reduce: {Reduce.ToString().ToLowerInvariant()} needs them too)";
        if (!corpusFields.Contains(LabelField))
            return $"label_field: '{LabelField}' is not a label field of the corpus, expected one of: {string.Join(", ", corpusFields)}";
        var values = valuesOf(LabelField);
        string Known() => string.Join(", ", values.Take(30)) + (values.Count > 30 ? $", … ({values.Count} labels)" : "");
        if (Baseline is { } baseline && !values.Contains(baseline))
            return $"baseline: label '{baseline}' does not occur in the corpus's '{LabelField}' field, expected one of: {Known()} (or rest)";
        for (int i = 0; i < (Order?.Count ?? 0); i++)
            if (!values.Contains(Order![i]))
                return $"order[{i}]: label '{Order[i]}' does not occur in the corpus's '{LabelField}' field, expected one of: {Known()}";
        foreach (var excluded in Exclude)
            if (!values.Contains(excluded))
                return $"exclude: label '{excluded}' does not occur in the corpus's '{LabelField}' field, expected one of: {Known()}";
        return null;
    }
}
