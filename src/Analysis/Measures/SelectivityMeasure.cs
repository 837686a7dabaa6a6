using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>selectivity</c>: per feature, its mean per label (labels with items, less <c>exclude</c>), the label it prefers and a
/// selectivity index (<see cref="Selectivity"/>): <c>ratio</c> (μ_p − μ̄_others)/(μ_p + μ̄_others) for non-negative SAE
/// codes, <c>dprime</c> (μ_p − μ̄_others)/s_within for signed activations; <c>index: auto</c> picks ratio on SAE code
/// sites and dprime on dense ones. Rows: <c>selectivity</c>, each label's <c>top_k</c> specialists.
/// </summary>
public sealed class SelectivityMeasure(SiteData data) : ConceptMeasure(data)
{
    public override string Kind => "selectivity";
    public override ConceptKind ConceptKind => ConceptKind.Selectivity;

    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        .. CommonKeys,
        ParameterKeys<ConceptParameters>.Choice("index", p => p.Index, (p, v) => p with { Index = v }),
        TopKKey,
        ParameterKeys<ConceptParameters>.TextList("exclude", "a list of labels", p => p.Exclude, (p, v) => p with { Exclude = v }),
    ];

    protected override ConceptResult Finish(ConceptParameters p, ConceptPartial partial, SideInputs side)
    {
        var index = p.Index switch
        {
            SelectivityChoice.Ratio => SelectivityIndex.Ratio,
            SelectivityChoice.DPrime => SelectivityIndex.DPrime,
            _ => Data == SiteData.Sparse ? SelectivityIndex.Ratio : SelectivityIndex.DPrime,
        };
        return Result(p, partial.RequireStatistics) with
        {
            Selectivity = Selectivity.Finish(partial.RequireStatistics, new SelectivityOptions(index, p.TopK, p.Exclude)),
        };
    }
}
