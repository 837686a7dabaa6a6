using System.Globalization;

namespace Sweep.Jobs.Spec;

public enum RsaInner { Correlation, Cosine, Euclidean }

public enum RsaOuter { Spearman, Pearson, Kendall }

public enum KnnMetric { Cosine, Euclidean }

public enum CorrelationPrecision { Float64, Float32 }

/// <summary>
/// Per-kind settings of an analysis, every default filled in (docs/analyses.md defines them). Only the
/// ones that apply to the analysis' kind may be written in the job; the rest keep their defaults.
/// </summary>
public sealed record AnalysisParameters
{
    public const int DefaultMaxItems = 1000;

    /// <summary>svcca: fraction of each side's variance its SVD reduction keeps.</summary>
    public double KeepVariance { get; init; } = 0.99;
    public RsaInner Inner { get; init; } = RsaInner.Correlation;
    public RsaOuter Outer { get; init; } = RsaOuter.Spearman;
    /// <summary>knn: neighbours per item.</summary>
    public int K { get; init; } = 10;
    public KnnMetric Metric { get; init; } = KnnMetric.Cosine;
    /// <summary>rsa, knn: size of the seeded token sample the measure runs on.</summary>
    public int MaxItems { get; init; } = DefaultMaxItems;
    public int Seed { get; init; }
    /// <summary>correlation: best partners stored per feature (1 = best match only).</summary>
    public int TopK { get; init; } = 1;
    /// <summary>correlation: memory for correlation tiles, MiB.</summary>
    public int MemoryMb { get; init; } = 512;
    public CorrelationPrecision Precision { get; init; } = CorrelationPrecision.Float64;

    /// <summary>The YAML keys each kind accepts besides name, kind and pairs.</summary>
    public static IReadOnlyList<string> KeysOf(AnalysisKind kind) => kind switch
    {
        AnalysisKind.Svcca => ["keep_variance"],
        AnalysisKind.Rsa => ["inner", "outer", "max_items", "seed"],
        AnalysisKind.Knn => ["k", "metric", "max_items", "seed"],
        AnalysisKind.Correlation => ["top_k", "memory_mb", "precision"],
        _ => [],
    };

    /// <summary>"key=value" for the kind's keys, in <see cref="KeysOf"/> order: canonical text, unit keys and the metrics' params.</summary>
    public IReadOnlyList<(string Key, string Value)> Canonical(AnalysisKind kind) =>
        KeysOf(kind).Select(key => (key, key switch
        {
            "keep_variance" => KeepVariance.ToString("R", CultureInfo.InvariantCulture),
            "inner" => Inner.ToString().ToLowerInvariant(),
            "outer" => Outer.ToString().ToLowerInvariant(),
            "k" => K.ToString(CultureInfo.InvariantCulture),
            "metric" => Metric.ToString().ToLowerInvariant(),
            "max_items" => MaxItems.ToString(CultureInfo.InvariantCulture),
            "seed" => Seed.ToString(CultureInfo.InvariantCulture),
            "top_k" => TopK.ToString(CultureInfo.InvariantCulture),
            "memory_mb" => MemoryMb.ToString(CultureInfo.InvariantCulture),
            _ => Precision.ToString().ToLowerInvariant(),
        })).ToList();
}
