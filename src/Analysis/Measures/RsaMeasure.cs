using Sweep.Analysis.Linear;
using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>rsa</c>: inner dissimilarity between items, outer correlation between the two dissimilarity matrices, sample size and seed.</summary>
public sealed record RsaParameters : MeasureParameters
{
    public InnerDissimilarity Inner { get; init; } = InnerDissimilarity.Correlation;
    public OuterCorrelation Outer { get; init; } = OuterCorrelation.Spearman;
    public int MaxItems { get; init; } = 1000;
    public int Seed { get; init; }
}

/// <summary>
/// <c>rsa</c> (Kriegeskorte et al. 2008): on the seeded item sample, each side's item-by-item dissimilarities
/// (<c>inner</c>: 1 − Pearson r of the rows, cosine distance or Euclidean distance), compared by the <c>outer</c>
/// correlation (Spearman, Pearson or Kendall's τ-b) of their upper triangles, <see cref="Rsa"/>.
/// </summary>
public sealed class RsaMeasure : SampleMeasure<RsaParameters>
{
    public override string Kind => "rsa";
    public override RsaParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        ParameterKeys<RsaParameters>.Choice("inner", p => p.Inner, (p, v) => p with { Inner = v }),
        ParameterKeys<RsaParameters>.Choice("outer", p => p.Outer, (p, v) => p with { Outer = v }),
        ParameterKeys<RsaParameters>.Integer("max_items", 3, "an integer of at least 3", p => p.MaxItems, (p, v) => p with { MaxItems = v }),
        ParameterKeys<RsaParameters>.Integer("seed", 0, "an integer of at least 0", p => p.Seed, (p, v) => p with { Seed = v }),
    ];

    protected override int MaxItems(RsaParameters parameters) => parameters.MaxItems;
    protected override int Seed(RsaParameters parameters) => parameters.Seed;

    protected override IReadOnlyList<MeasureValue> Values(RsaParameters p, DenseMatrix x, DenseMatrix y, Dictionary<string, object> common)
    {
        common["inner"] = p.Inner.ToString().ToLowerInvariant();
        common["outer"] = p.Outer.ToString().ToLowerInvariant();
        return [new MeasureValue("rsa", Rsa.Compute(x, y, p.Inner, p.Outer), x.Rows, common)];
    }
}
