using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>concept_means</c>: per label, n, the mean of the reduced prompt vectors and their per-dimension unbiased variance
/// (n − 1, numpy's <c>var(ddof=1)</c>), from the merged <see cref="LabelStatistics"/> (<see cref="ConceptMeans"/>). A label
/// without items has no mean, one with a single item no variance (NULL with a note). Rows: <c>concept_means</c>, one per
/// label in the analysis's label order.
/// </summary>
public sealed class ConceptMeansMeasure(SiteData data) : ConceptMeasure(data)
{
    public override string Kind => "concept_means";
    public override ConceptKind ConceptKind => ConceptKind.ConceptMeans;
    public override IReadOnlyList<ParameterKey> Keys { get; } = CommonKeys;

    protected override ConceptResult Finish(ConceptParameters p, ConceptPartial partial, SideInputs side) =>
        Result(p, partial.RequireStatistics) with { Means = ConceptMeans.Finish(partial.RequireStatistics) };
}
