using Sweep.Cli.Reports.Features;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>Everything a report shows, read from PostgreSQL, each list in a fixed order.</summary>
public sealed record ReportContent(
    RunRecord Run,
    IReadOnlyList<MetricRow> Metrics,
    IReadOnlyList<FeatureMatchSummary> MatchSummaries,
    IReadOnlyList<FeatureMatchRow> TopMatches)
{
    /// <summary>The concept analyses' results (concept_means, contrast, selectivity, pca).</summary>
    public ConceptContent Concepts { get; init; } = ConceptContent.Empty;

    /// <summary>Rows in each site pair's table of strongest matches.</summary>
    public const int TopMatchesPerPair = 50;

    /// <summary>Sites described by a <c>features</c> analysis (their feature pages, <see cref="FeaturePages"/>).</summary>
    public IReadOnlyList<FeatureSiteRow> FeatureSites { get; init; } = [];

    /// <summary>Final pairs of each <c>feature_matching</c> site pair (their side-by-side pages).</summary>
    public IReadOnlyList<FeaturePairSet> FeaturePairs { get; init; } = [];

    /// <summary>What the run's models (and their baselines) score on held-out text (<c>model_evaluations</c>; the summary's first table).</summary>
    public IReadOnlyList<ModelEvaluationRow> ModelEvaluations { get; init; } = [];

    public static async Task<ReportContent> LoadAsync(SweepDatabase database, RunRecord run, CancellationToken ct)
    {
        var metrics = (await database.GetMetricsAsync(run.RunId, ct)).Select(m => m.Metric).ToList();
        return await FeaturePages.WithFeaturesAsync(new ReportContent(run, Sorted(metrics),
            await database.GetFeatureMatchSummariesAsync(run.RunId, ct),
            await database.GetTopFeatureMatchesAsync(run.RunId, TopMatchesPerPair, ct))
        {
            Concepts = await ConceptContent.LoadAsync(database, run.RunId, ct),
            ModelEvaluations = await database.GetModelEvaluationsAsync(run.RunId, ct),
        }, database, ct);
    }

    /// <summary>The analyses with anything to show, by name.</summary>
    public IReadOnlyList<string> Analyses =>
        Metrics.Select(m => m.Analysis).Concat(MatchSummaries.Select(s => s.Analysis)).Concat(Concepts.Analyses).Distinct().Order(StringComparer.Ordinal).ToList();

    /// <summary>Metrics by analysis, measure, model and site (residual-stream order), then value and parameters.</summary>
    private static List<MetricRow> Sorted(IEnumerable<MetricRow> metrics) =>
        metrics.OrderBy(m => m.Analysis, StringComparer.Ordinal)
            .ThenBy(m => m.Measure, StringComparer.Ordinal)
            .ThenBy(m => m.ModelA, StringComparer.Ordinal).ThenBy(m => m.SiteA, SiteOrder.Instance)
            .ThenBy(m => m.ModelB ?? "", StringComparer.Ordinal).ThenBy(m => m.SiteB ?? "", SiteOrder.Instance)
            .ThenBy(m => m.ParamsJson, StringComparer.Ordinal).ThenBy(m => m.Value)
            .ToList();
}
