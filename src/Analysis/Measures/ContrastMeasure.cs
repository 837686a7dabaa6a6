using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>contrast</c>: each label against <c>baseline</c> (a label, or <c>rest</c>: all other labels pooled), per feature:
/// difference of means, Welch's t with Welch–Satterthwaite degrees of freedom and its two-sided p, Benjamini–Hochberg q
/// over the label's features, Cohen's d with the classic pooled SD (<see cref="Contrast"/>); the <c>top_k</c> features per
/// label by <c>rank_by</c> (d, t or difference) in <c>direction</c> (higher, lower, both). On SAE code sites these are the
/// differential features. Rows: <c>contrast_labels</c> (per label: sizes, features tested, q &lt; 0.05) and <c>contrasts</c>.
/// </summary>
public sealed class ContrastMeasure(SiteData data) : ConceptMeasure(data)
{
    public override string Kind => "contrast";
    public override ConceptKind ConceptKind => ConceptKind.Contrast;

    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        .. CommonKeys,
        ParameterKeys<ConceptParameters>.Text("baseline", "a label of the corpus, or rest (all other labels pooled)",
            p => p.Baseline ?? ConceptParameters.Rest, (p, v) => p with { Baseline = v == ConceptParameters.Rest ? null : v }),
        TopKKey,
        ParameterKeys<ConceptParameters>.Choice("rank_by", [("d", ContrastRanking.CohensD), ("t", ContrastRanking.WelchT), ("difference", ContrastRanking.Difference)],
            p => p.RankBy, (p, v) => p with { RankBy = v }),
        ParameterKeys<ConceptParameters>.Choice("direction", p => p.Direction, (p, v) => p with { Direction = v }),
    ];

    protected override ConceptResult Finish(ConceptParameters p, ConceptPartial partial, SideInputs side) =>
        Result(p, partial.RequireStatistics) with
        {
            Contrast = Contrast.Finish(partial.RequireStatistics, new ContrastOptions(p.Baseline, p.TopK, p.RankBy, p.Direction)),
        };
}
