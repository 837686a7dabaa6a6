using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>cka_unbiased</c>: CKA with the unbiased HSIC estimator (Song et al. 2012), <see cref="UnbiasedCka"/>, from the
/// second moments plus the row-norm moments (the squared norms of the centred rows without a second pass).
/// Params <c>estimator: unbiased</c>.
/// </summary>
public sealed class UnbiasedCkaMeasure : DenseMomentsMeasure<NoParameters>
{
    public override string Kind => "cka_unbiased";
    public override NoParameters DefaultParameters => NoParameters.Instance;
    public override IReadOnlyList<ParameterKey> Keys => [];
    protected override bool WithNorms => true;

    protected override (string, Measurement, Dictionary<string, object>) Value(NoParameters parameters, DenseMoments moments) =>
        ("cka_unbiased", UnbiasedCka.Compute(moments.Stats, moments.Norms!), new() { ["estimator"] = "unbiased" });
}
