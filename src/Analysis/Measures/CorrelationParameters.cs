using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>correlation</c>: best partners stored per A feature (<c>top_k</c>); for dense sites also the memory for
/// correlation tiles (<c>memory_mb</c>) and the arithmetic of the per-block cross products (<c>precision</c>).
/// </summary>
public sealed record CorrelationParameters : MeasureParameters
{
    public int TopK { get; init; } = 1;
    public int MemoryMb { get; init; } = 512;
    public GemmPrecision Precision { get; init; } = GemmPrecision.Float64;

    public static IReadOnlyList<ParameterKey> Keys { get; } =
    [
        ParameterKeys<CorrelationParameters>.Integer("top_k", 1, "an integer of at least 1", p => p.TopK, (p, v) => p with { TopK = v }),
        ParameterKeys<CorrelationParameters>.Integer("memory_mb", 1, "an integer of at least 1 (MiB)", p => p.MemoryMb, (p, v) => p with { MemoryMb = v }),
        ParameterKeys<CorrelationParameters>.Choice("precision", p => p.Precision, (p, v) => p with { Precision = v }),
    ];
}

/// <summary>
/// <c>correlation</c> on SAE code sites (the exact sparse path): best partners stored per A feature (<c>top_k</c>), and the
/// most memory the cross sums of one tile of A features may take (<c>memory_mb</c>, see
/// <see cref="CodeCorrelationMeasure.TilesOf"/>). The arithmetic is float64 throughout, so there is no <c>precision</c>.
/// </summary>
public sealed record CodeCorrelationParameters : MeasureParameters
{
    public int TopK { get; init; } = 1;
    public int MemoryMb { get; init; } = 4096;

    public static IReadOnlyList<ParameterKey> Keys { get; } =
    [
        ParameterKeys<CodeCorrelationParameters>.Integer("top_k", 1, "an integer of at least 1", p => p.TopK, (p, v) => p with { TopK = v }),
        ParameterKeys<CodeCorrelationParameters>.Integer("memory_mb", 1, "an integer of at least 1 (MiB)", p => p.MemoryMb, (p, v) => p with { MemoryMb = v }),
    ];
}

/// <summary>The three metrics both correlation measures store, from the best matches.</summary>
internal static class CorrelationValues
{
    public static IReadOnlyList<MeasureValue> Of(BestMatches matches, Dictionary<string, object> parameters)
    {
        parameters["dead_a"] = matches.DeadA.Count(d => d);
        parameters["dead_b"] = matches.DeadB.Count(d => d);
        return
        [
            new("correlation_mean_best_a_to_b", MeanBest(matches.AToB), matches.Count, parameters),
            new("correlation_mean_best_b_to_a", MeanBest(matches.BToA), matches.Count, parameters),
            new("correlation_mutual_pairs", matches.MutualPairs().Count, matches.Count, parameters),
        ];
    }

    private static Measurement MeanBest(Match[] matches)
    {
        var live = matches.Where(m => m.Index >= 0).ToList();
        return live.Count == 0 ? Measurement.Undefined("no feature has a partner: every feature of one side is constant (dead)") : live.Average(m => m.Correlation);
    }
}
