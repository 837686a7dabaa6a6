using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>cka</c>: linear CKA (Kornblith et al. 2019) over every token, <see cref="LinearCka"/> from the centred second
/// moments. Stored as <c>cka_linear</c> with params <c>estimator: linear</c>.
/// </summary>
public sealed class CkaMeasure : DenseMomentsMeasure<NoParameters>
{
    public override string Kind => "cka";
    public override NoParameters DefaultParameters => NoParameters.Instance;
    public override IReadOnlyList<ParameterKey> Keys => [];

    protected override (string, Measurement, Dictionary<string, object>) Value(NoParameters parameters, DenseMoments moments) =>
        ("cka_linear", LinearCka.Compute(moments.Stats), new() { ["estimator"] = "linear" });
}
