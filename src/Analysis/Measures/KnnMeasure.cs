using Sweep.Analysis.Linear;
using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>knn</c>: neighbours per item (fewer than <see cref="MaxItems"/>), distance, sample size and seed.</summary>
public sealed record KnnParameters : MeasureParameters
{
    public int K { get; init; } = 10;
    public NeighbourMetric Metric { get; init; } = NeighbourMetric.Cosine;
    public int MaxItems { get; init; } = 1000;
    public int Seed { get; init; }
}

/// <summary>
/// <c>knn</c>: mutual k-nearest-neighbour agreement on the seeded item sample (<see cref="NearestNeighbours"/>): per
/// item the overlap of its k neighbours in A and in B, averaged (<c>knn_overlap</c>), and their Jaccard index
/// (<c>knn_jaccard</c>); k is capped at items − 1. Params add <c>k</c>, <c>metric</c> and <c>chance</c> = k / (items − 1).
/// </summary>
public sealed class KnnMeasure : SampleMeasure<KnnParameters>
{
    public override string Kind => "knn";
    public override KnnParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        ParameterKeys<KnnParameters>.Integer("k", 1, "an integer of at least 1", p => p.K, (p, v) => p with { K = v }),
        ParameterKeys<KnnParameters>.Choice("metric", p => p.Metric, (p, v) => p with { Metric = v }),
        ParameterKeys<KnnParameters>.Integer("max_items", 3, "an integer of at least 3", p => p.MaxItems, (p, v) => p with { MaxItems = v }),
        ParameterKeys<KnnParameters>.Integer("seed", 0, "an integer of at least 0", p => p.Seed, (p, v) => p with { Seed = v }),
    ];

    public override ParameterProblem? Check(KnnParameters p) =>
        p.K >= p.MaxItems ? new ParameterProblem("k", $"is {p.K}, expected fewer than max_items ({p.MaxItems})") : null;

    protected override int MaxItems(KnnParameters parameters) => parameters.MaxItems;
    protected override int Seed(KnnParameters parameters) => parameters.Seed;

    protected override IReadOnlyList<MeasureValue> Values(KnnParameters p, DenseMatrix x, DenseMatrix y, Dictionary<string, object> common)
    {
        common["k"] = p.K;
        common["metric"] = p.Metric.ToString().ToLowerInvariant();
        var knn = NearestNeighbours.Compute(x, y, Math.Min(p.K, x.Rows - 1), p.Metric);
        common["chance"] = (double)knn.K / (x.Rows - 1);
        return [new MeasureValue("knn_overlap", knn.Overlap, x.Rows, common), new MeasureValue("knn_jaccard", knn.Jaccard, x.Rows, common)];
    }
}
