using Sweep.Analysis.Concepts;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>pca</c> at one site (<see cref="ConceptPca"/>, conventions of <see cref="Pca"/>: centred over the items, variance
/// over n − 1, each component's largest loading positive), of one of three <c>source</c>s: <c>label_means</c> (the
/// means of the labels in <c>order</c>; Engels et al.'s circle of the seven day means), <c>sample</c> (a seeded sample of
/// at most <c>max_items</c> reduced prompts, each label's point the centroid of its items) or <c>decoder</c> (an SAE's
/// decoder rows, one item per feature; SAE code sites only, no activations read). Rows: <c>pca_components</c> and
/// <c>pca_coordinates</c> (each label's point, and each item's for sample and decoder), and the metric
/// <c>pca_top2_variance_ratio</c>: the share of variance of the first two components (the plane a circle lies in).
/// </summary>
public sealed class PcaMeasure(SiteData data) : ConceptMeasure(data)
{
    public override string Kind => "pca";
    public override ConceptKind ConceptKind => ConceptKind.Pca;

    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        .. CommonKeys,
        ParameterKeys<ConceptParameters>.Choice("source", [("label_means", PcaSource.LabelMeans), ("sample", PcaSource.Sample), ("decoder", PcaSource.Decoder)],
            p => p.Source, (p, v) => p with { Source = v }),
        ParameterKeys<ConceptParameters>.Integer("components", 1, "an integer of at least 1", p => p.Components, (p, v) => p with { Components = v }),
        ParameterKeys<ConceptParameters>.Boolean("cyclic", p => p.Cyclic, (p, v) => p with { Cyclic = v }),
        ParameterKeys<ConceptParameters>.Integer("max_items", 3, "an integer of at least 3", p => p.MaxItems, (p, v) => p with { MaxItems = v }),
        ParameterKeys<ConceptParameters>.Integer("seed", 0, "an integer of at least 0", p => p.Seed, (p, v) => p with { Seed = v }),
    ];

    public override bool NeedsDecoders(ConceptParameters p) => p.Source == PcaSource.Decoder;

    protected override ConceptResult Finish(ConceptParameters p, ConceptPartial partial, SideInputs side)
    {
        var pca = p.Source switch
        {
            PcaSource.LabelMeans => ConceptPca.OfLabelMeans(partial.RequireStatistics, p.Components),
            PcaSource.Sample => ConceptPca.OfSample(partial.Sample ?? throw new InvalidDataException("a PCA of sampled prompts without its sample"), p.Components),
            _ => ConceptPca.OfDecoder((side.SiteDecoder ?? throw new InvalidOperationException("a PCA of decoder rows needs the SAE's decoder (SideInputs.SiteDecoder)"))(), p.Components),
        };
        return Result(p, partial.Statistics) with { Pca = pca };
    }

    protected override IEnumerable<MeasureValue> Values(ConceptParameters p, ConceptResult result)
    {
        var pca = result.Pca!.Pca;
        var parameters = new Dictionary<string, object>
        {
            ["source"] = p.Source switch { PcaSource.LabelMeans => "label_means", PcaSource.Sample => "sample", _ => "decoder" },
            ["components"] = pca.Components, ["items"] = pca.Items,
        };
        yield return new MeasureValue("pca_top2_variance_ratio",
            pca.Components >= 2 ? pca.ExplainedVarianceRatio[0] + pca.ExplainedVarianceRatio[1]
                : Measurement.Undefined($"the items span {pca.Components} direction, fewer than two components"),
            pca.Items, parameters);
    }
}
