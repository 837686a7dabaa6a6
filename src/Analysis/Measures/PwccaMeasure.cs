using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>pwcca</c> (Morcos et al. 2018): CCA correlations weighted by how much of A each canonical direction accounts for, <see cref="Pwcca"/>.</summary>
public sealed class PwccaMeasure : DenseMomentsMeasure<NoParameters>
{
    public override string Kind => "pwcca";
    public override NoParameters DefaultParameters => NoParameters.Instance;
    public override IReadOnlyList<ParameterKey> Keys => [];

    protected override (string, Measurement, Dictionary<string, object>) Value(NoParameters parameters, DenseMoments moments) =>
        ("pwcca", Pwcca.Compute(moments.Stats), new());
}
