using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Sampling;
using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis;

public enum MeasureKind { Cka, CkaUnbiased, Svcca, Pwcca, Rsa, Knn, Procrustes, Correlation }

/// <summary>Settings of every measure (each kind reads its own); docs/analyses.md defines them.</summary>
public sealed record MeasureSettings
{
    public double KeepVariance { get; init; } = Svcca.DefaultKeepVariance;
    public InnerDissimilarity Inner { get; init; } = InnerDissimilarity.Correlation;
    public OuterCorrelation Outer { get; init; } = OuterCorrelation.Spearman;
    public int K { get; init; } = 10;
    public NeighbourMetric Metric { get; init; } = NeighbourMetric.Cosine;
    public int MaxItems { get; init; } = 1000;
    public int Seed { get; init; }
    public int TopK { get; init; } = 1;
    public long MemoryBudgetBytes { get; init; } = CorrelationOptions.DefaultBudget;
    public GemmPrecision Precision { get; init; } = GemmPrecision.Float64;
}

/// <summary>Aligned rows of both sides, row-major float32, with a stable id per row (a token's (seq, pos)).</summary>
public sealed record ItemBlock(float[] X, float[] Y, int Rows, long[] Ids);

/// <summary>One finalized value (a number, or undefined with its reason) with the parameters that produced it (stored as the metric's params).</summary>
public sealed record MeasureValue(string Measure, Measurement Result, long Count, IReadOnlyDictionary<string, object> Parameters)
{
    /// <summary>The number; null when undefined (stored as NULL).</summary>
    public double? Value => Result.Value;
    public string? UndefinedReason => Result.UndefinedReason;
}

public sealed record PairMeasureResult(IReadOnlyList<MeasureValue> Values, BestMatches? Matches);

/// <summary>
/// Runs one measure kind over aligned row blocks: the reducers' and <c>sweep compare</c>'s single code
/// path. Statistic-based kinds (CKA, unbiased CKA, SVCCA, PWCCA, Procrustes) fold every block into
/// mergeable float64 statistics; RSA and kNN run on a seeded bottom-k sample of at most MaxItems rows;
/// correlation streams the blocks once per tile of B's columns (<paramref name="blocks"/> may be called several times).
/// </summary>
public static class PairMeasures
{
    public static string Name(MeasureKind kind) => kind switch
    {
        MeasureKind.Cka => "cka", MeasureKind.CkaUnbiased => "cka_unbiased", MeasureKind.Svcca => "svcca", MeasureKind.Pwcca => "pwcca",
        MeasureKind.Rsa => "rsa", MeasureKind.Knn => "knn", MeasureKind.Procrustes => "procrustes", _ => "correlation",
    };

    public static MeasureKind? Parse(string name) =>
        Enum.GetValues<MeasureKind>().Cast<MeasureKind?>().FirstOrDefault(k => Name(k!.Value) == name);

    public static PairMeasureResult Compute(MeasureKind kind, MeasureSettings s, int widthX, int widthY, Func<IEnumerable<ItemBlock>> blocks)
    {
        switch (kind)
        {
            case MeasureKind.Rsa:
            case MeasureKind.Knn:
            {
                var (x, y, total) = Sample(s, blocks());
                var p = new Dictionary<string, object> { ["max_items"] = s.MaxItems, ["seed"] = s.Seed, ["items"] = x.Rows, ["tokens"] = total };
                if (kind == MeasureKind.Rsa)
                {
                    p["inner"] = s.Inner.ToString().ToLowerInvariant();
                    p["outer"] = s.Outer.ToString().ToLowerInvariant();
                    return new([new("rsa", Rsa.Compute(x, y, s.Inner, s.Outer), x.Rows, p)], null);
                }
                p["k"] = s.K;
                p["metric"] = s.Metric.ToString().ToLowerInvariant();
                var knn = NearestNeighbours.Compute(x, y, Math.Min(s.K, x.Rows - 1), s.Metric);
                p["chance"] = (double)knn.K / (x.Rows - 1);
                return new([new("knn_overlap", knn.Overlap, x.Rows, p), new("knn_jaccard", knn.Jaccard, x.Rows, p)], null);
            }
            case MeasureKind.Correlation:
            {
                var options = new CorrelationOptions(s.MemoryBudgetBytes, s.TopK, s.Precision);
                var matches = DenseCorrelation.Stream(widthX, widthY, () => blocks().Select(b => new RowBlock(b.X, b.Y, b.Rows)), options);
                var p = new Dictionary<string, object>
                {
                    ["top_k"] = s.TopK, ["memory_bytes"] = s.MemoryBudgetBytes, ["precision"] = s.Precision.ToString().ToLowerInvariant(),
                    ["dead_a"] = matches.DeadA.Count(d => d), ["dead_b"] = matches.DeadB.Count(d => d),
                };
                return new([
                    new("correlation_mean_best_a_to_b", MeanBest(matches.AToB), matches.Count, p),
                    new("correlation_mean_best_b_to_a", MeanBest(matches.BToA), matches.Count, p),
                    new("correlation_mutual_pairs", matches.MutualPairs().Count, matches.Count, p),
                ], matches);
            }
            default:
            {
                DensePairStatistics? stats = null;
                RowNormMoments? norms = null;
                int parts = 0;
                foreach (var b in blocks())
                {
                    var part = DensePairStatistics.FromRows(b.X, b.Y, b.Rows, widthX, widthY);
                    stats = stats is null ? part : stats.Merge(part);
                    if (kind == MeasureKind.CkaUnbiased)
                    {
                        var n = RowNormMoments.FromRows(b.X, b.Y, b.Rows, widthX, widthY);
                        norms = norms is null ? n : norms.Merge(n);
                    }
                    parts++;
                }
                if (stats is null) throw new ArgumentException("no rows to compare");
                var p = new Dictionary<string, object> { ["blocks"] = parts, ["centred"] = true };
                Measurement value;
                string measure = Name(kind);
                switch (kind)
                {
                    case MeasureKind.Cka: value = LinearCka.Compute(stats); measure = "cka_linear"; p["estimator"] = "linear"; break;
                    case MeasureKind.CkaUnbiased: value = UnbiasedCka.Compute(stats, norms!); p["estimator"] = "unbiased"; break;
                    case MeasureKind.Svcca:
                        var constant = ConstantSides.Reason(stats);
                        var cca = constant is null ? Svcca.Canonical(stats, s.KeepVariance) : null;
                        value = cca is null ? Measurement.Undefined(constant!) : Svcca.Mean(cca);
                        p["keep_variance"] = s.KeepVariance; p["kept_a"] = cca?.KeptX ?? 0; p["kept_b"] = cca?.KeptY ?? 0;
                        break;
                    case MeasureKind.Pwcca: value = Pwcca.Compute(stats); break;
                    default: value = Procrustes.Compute(stats); break;
                }
                return new([new(measure, value, stats.Count, p)], null);
            }
        }
    }

    private static Measurement MeanBest(Match[] matches)
    {
        var live = matches.Where(m => m.Index >= 0).ToList();
        return live.Count == 0 ? Measurement.Undefined("no feature has a partner: every feature of one side is constant (dead)") : live.Average(m => m.Correlation);
    }

    private static (DenseMatrix X, DenseMatrix Y, long Tokens) Sample(MeasureSettings s, IEnumerable<ItemBlock> blocks)
    {
        ItemSample? sample = null;
        long total = 0;
        foreach (var b in blocks)
        {
            int dx = b.X.Length / Math.Max(1, b.Rows), dy = b.Y.Length / Math.Max(1, b.Rows);
            var part = new ItemSample(s.MaxItems, s.Seed);
            for (int r = 0; r < b.Rows; r++) part.Offer(b.Ids[r], b.X.AsSpan(r * dx, dx), b.Y.AsSpan(r * dy, dy));
            sample = sample is null ? part : sample.Merge(part);
            total += b.Rows;
        }
        if (sample is null || sample.Count < 3) throw new ArgumentException("RSA and kNN need at least 3 items");
        var (x, y) = sample.ToMatrices();
        return (x, y, total);
    }
}
