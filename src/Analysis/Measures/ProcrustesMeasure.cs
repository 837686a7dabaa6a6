using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>procrustes</c>: orthogonal Procrustes similarity of the centred, norm-scaled sides, <see cref="Procrustes"/>.</summary>
public sealed class ProcrustesMeasure : DenseMomentsMeasure<NoParameters>
{
    public override string Kind => "procrustes";
    public override NoParameters DefaultParameters => NoParameters.Instance;
    public override IReadOnlyList<ParameterKey> Keys => [];

    protected override (string, Measurement, Dictionary<string, object>) Value(NoParameters parameters, DenseMoments moments) =>
        ("procrustes", Procrustes.Compute(moments.Stats), new());
}
