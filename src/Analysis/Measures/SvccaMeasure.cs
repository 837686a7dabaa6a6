using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>svcca</c>: the fraction of each side's variance its SVD reduction keeps (in (0, 1]).</summary>
public sealed record SvccaParameters : MeasureParameters
{
    public double KeepVariance { get; init; } = Svcca.DefaultKeepVariance;
}

/// <summary>
/// <c>svcca</c> (Raghu et al. 2017): each side reduced to the top principal directions keeping
/// <see cref="SvccaParameters.KeepVariance"/> of its variance (covariance eigendecomposition), then CCA; the value is the
/// mean canonical correlation; undefined when a side is constant. Params: <c>keep_variance</c>, <c>kept_a</c>, <c>kept_b</c>.
/// </summary>
public sealed class SvccaMeasure : DenseMomentsMeasure<SvccaParameters>
{
    public override string Kind => "svcca";
    public override SvccaParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys { get; } =
        [ParameterKeys<SvccaParameters>.Fraction("keep_variance", p => p.KeepVariance, (p, v) => p with { KeepVariance = v })];

    protected override (string, Measurement, Dictionary<string, object>) Value(SvccaParameters parameters, DenseMoments moments)
    {
        // A constant side has no directions to keep: undefined, with the reason.
        var constant = ConstantSides.Reason(moments.Stats);
        var cca = constant is null ? Svcca.Canonical(moments.Stats, parameters.KeepVariance) : null;
        var value = cca is null ? Measurement.Undefined(constant!) : Svcca.Mean(cca);
        return ("svcca", value, new() { ["keep_variance"] = parameters.KeepVariance, ["kept_a"] = cca?.KeptX ?? 0, ["kept_b"] = cca?.KeptY ?? 0 });
    }
}
