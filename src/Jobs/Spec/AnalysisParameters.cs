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

    /// <summary>Punctuation, whitespace and newline: the default list of feature_matching's non-concept filter.</summary>
    public static readonly IReadOnlyList<string> DefaultNonConceptTokens = [".", ",", "!", "?", ";", ":", "'", "\"", "-", "(", ")", " ", "\n"];

    /// <summary>feature_matching: pairs below this correlation are dropped.</summary>
    public double MinCorrelation { get; init; } = 0.1;
    /// <summary>feature_matching: keep only the most correlated B feature per A feature.</summary>
    public bool OneToOne { get; init; } = true;
    /// <summary>feature_matching: one-to-one by the Hungarian method instead (maximum total correlation).</summary>
    public bool Hungarian { get; init; }
    /// <summary>feature_matching: token texts (each one token of the corpus tokenizer) counted as non-concept; empty turns the filter off.</summary>
    public IReadOnlyList<string> NonConceptTokens { get; init; } = DefaultNonConceptTokens;
    /// <summary>feature_matching: a feature is non-concept when at least this fraction of its top tokens are non-concept.</summary>
    public double NonConceptShare { get; init; } = 0.5;
    /// <summary>feature_matching: keep only pairs whose features share a top token.</summary>
    public bool SharedTopToken { get; init; }
    /// <summary>feature_matching: top activations kept per feature for the token filters.</summary>
    public int TopTokens { get; init; } = 10;
    /// <summary>feature_matching: baseline draws per baseline.</summary>
    public int Permutations { get; init; } = 100;

    /// <summary>The YAML keys each kind accepts besides name, kind and pairs.</summary>
    public static IReadOnlyList<string> KeysOf(AnalysisKind kind) => kind switch
    {
        AnalysisKind.Svcca => ["keep_variance"],
        AnalysisKind.Rsa => ["inner", "outer", "max_items", "seed"],
        AnalysisKind.Knn => ["k", "metric", "max_items", "seed"],
        AnalysisKind.Correlation => ["top_k", "memory_mb", "precision"],
        AnalysisKind.FeatureMatching => ["min_correlation", "one_to_one", "hungarian", "non_concept_tokens", "non_concept_share", "shared_top_token",
            "top_tokens", "permutations", "seed", "keep_variance", "inner", "outer"],
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
            "min_correlation" => MinCorrelation.ToString("R", CultureInfo.InvariantCulture),
            "one_to_one" => OneToOne ? "true" : "false",
            "hungarian" => Hungarian ? "true" : "false",
            "non_concept_tokens" => System.Text.Json.JsonSerializer.Serialize(NonConceptTokens),
            "non_concept_share" => NonConceptShare.ToString("R", CultureInfo.InvariantCulture),
            "shared_top_token" => SharedTopToken ? "true" : "false",
            "top_tokens" => TopTokens.ToString(CultureInfo.InvariantCulture),
            "permutations" => Permutations.ToString(CultureInfo.InvariantCulture),
            _ => Precision.ToString().ToLowerInvariant(),
        })).ToList();
}
