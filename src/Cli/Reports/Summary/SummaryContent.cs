using System.Text.Json;
using Sweep.Cli.Reports.Features;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports.Summary;

/// <summary>An observed paired similarity against its two baselines (the <c>paired_svcca*</c> or <c>paired_rsa*</c> rows of one site pair).</summary>
public sealed record BaselineComparison(
    double Observed, double ShuffledMean, double ShuffledStd, double ShuffledP, double SubsetsMean, double SubsetsStd, double SubsetsP)
{
    /// <summary>Above both baselines at <paramref name="level"/>.</summary>
    public bool Significant(double level) => ShuffledP < level && SubsetsP < level;
}

/// <summary>One of the strongest final pairs of a matching, with the pages that show it.</summary>
/// <param name="PairPage">the pairs page at this pair (<c>pairs-….html#pair=I</c>)</param>
/// <param name="FeaturePageA">the A feature's card on its feature page, when a <c>features</c> analysis described that SAE site</param>
public sealed record BestPair(int A, int B, double Correlation, string PairPage, string? FeaturePageA, string? FeaturePageB);

/// <summary>One <c>feature_matching</c> site pair as the summary tells it: how many features matched, and whether their decoders agree beyond chance.</summary>
public sealed record MatchingSummary(
    string Analysis, string ModelA, string SiteA, string ModelB, string SiteB, string Training,
    long Pairs, long? FeaturesA, long? FeaturesB, double? MinCorrelation, long? Permutations,
    BaselineComparison? Svcca, BaselineComparison? Rsa, IReadOnlyList<BestPair> Best);

/// <summary>
/// What the report's opening summary shows, computed from what the report already read (<see cref="ReportContent"/>):
/// <list type="bullet">
/// <item>the models' held-out perplexities beside the baselines (<c>model_evaluations</c>);</item>
/// <item>every <c>feature_matching</c> site pair: N of M features matched at r ≥ min_correlation, paired SVCCA and RSA
/// against the shuffled and subset baselines with p-values, labelled trained or untrained by the models' training steps;</item>
/// <item>the layer grid (<see cref="LayerGrid"/>);</item>
/// <item>links to the strongest pairs' side-by-side page and, where a <c>features</c> analysis described the SAE sites, their feature cards.</item>
/// </list>
/// </summary>
public sealed record SummaryContent(
    IReadOnlyList<ModelEvaluationRow> Models, IReadOnlyList<ModelEvaluationRow> Baselines, IReadOnlyList<MatchingSummary> Matchings, LayerGrid? Grid)
{
    /// <summary>Pairs linked per matching.</summary>
    public const int BestPairs = 5;

    /// <summary>The significance level the summary states.</summary>
    public const double Level = 0.01;

    public bool IsEmpty => Models.Count == 0 && Baselines.Count == 0 && Matchings.Count == 0 && Grid is null;

    public static SummaryContent From(ReportContent content)
    {
        var models = content.ModelEvaluations.Where(e => e.Role == ModelEvaluationRow.ModelRole).ToList();
        var baselines = content.ModelEvaluations.Where(e => e.Role == ModelEvaluationRow.BaselineRole).ToList();
        var steps = models.ToDictionary(m => m.Model, m => m.TrainingSteps);
        var matchings = content.Metrics.Where(m => m.Measure == "feature_matching_pairs" && m.ModelB is not null)
            .Select(m => Matching(m, content, steps)).ToList();
        return new SummaryContent(models, baselines, matchings, LayerGrid.From(content.Metrics, steps));
    }

    /// <summary>"trained", "untrained" (every model of the pair has 0 training steps), "trained vs untrained", or "" when unknown.</summary>
    public static string TrainingOf(IReadOnlyDictionary<string, int?> steps, params string[] models)
    {
        var known = models.Select(m => steps.GetValueOrDefault(m)).ToList();
        if (known.Any(s => s is null)) return "";
        if (known.All(s => s > 0)) return "trained";
        if (known.All(s => s == 0)) return "untrained";
        return "trained vs untrained";
    }

    private static MatchingSummary Matching(MetricRow pairs, ReportContent content, IReadOnlyDictionary<string, int?> steps)
    {
        var rows = content.Metrics.Where(m => m.Analysis == pairs.Analysis && m.ModelA == pairs.ModelA && m.SiteA == pairs.SiteA
                                              && m.ModelB == pairs.ModelB && m.SiteB == pairs.SiteB)
            .GroupBy(m => m.Measure).ToDictionary(g => g.Key, g => g.First().Stored.Value);
        var parameters = JsonDocument.Parse(pairs.ParamsJson).RootElement;
        long? Integer(string key) => parameters.TryGetProperty(key, out var v) && v.TryGetInt64(out var n) ? n : null;
        double? Number(string key) => parameters.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

        BaselineComparison? Baseline(string measure)
        {
            double? Get(string suffix) => rows.GetValueOrDefault($"paired_{measure}{suffix}");
            return (Get(""), Get("_shuffled_mean"), Get("_shuffled_std"), Get("_shuffled_p"), Get("_subsets_mean"), Get("_subsets_std"), Get("_subsets_p"))
                is ({ } o, { } sm, { } ss, { } sp, { } bm, { } bs, { } bp) ? new BaselineComparison(o, sm, ss, sp, bm, bs, bp) : null;
        }

        var set = content.FeaturePairs.FirstOrDefault(s => s.Analysis == pairs.Analysis && s.ModelA == pairs.ModelA && s.SiteA == pairs.SiteA
                                                           && s.ModelB == pairs.ModelB && s.SiteB == pairs.SiteB);
        var best = new List<BestPair>();
        if (set is not null)
        {
            var pageA = FeaturePage(content, pairs.ModelA, pairs.SiteA);
            var pageB = FeaturePage(content, pairs.ModelB!, pairs.SiteB!);
            for (int i = 0; i < Math.Min(BestPairs, set.Pairs.Count); i++)
            {
                var (a, b, r) = set.Pairs[i];
                best.Add(new BestPair(a, b, r, $"{FeaturePages.PairPageName(set)}#pair={i}",
                    pageA is null ? null : $"{pageA}#feature={a}", pageB is null ? null : $"{pageB}#feature={b}"));
            }
        }
        return new MatchingSummary(pairs.Analysis, pairs.ModelA, pairs.SiteA, pairs.ModelB!, pairs.SiteB!, TrainingOf(steps, pairs.ModelA, pairs.ModelB!),
            pairs.Stored.Value is { } n ? (long)n : 0, Integer("features_a"), Integer("features_b"), Number("min_correlation"), Integer("permutations"),
            Baseline("svcca"), Baseline("rsa"), best);
    }

    /// <summary>The feature page of a site, when a <c>features</c> analysis described it (the first such analysis by name).</summary>
    private static string? FeaturePage(ReportContent content, string model, string site) =>
        content.FeatureSites.Where(s => s.Model == model && s.Site == site).OrderBy(s => s.Analysis, StringComparer.Ordinal)
            .Select(FeaturePages.PageName).FirstOrDefault();
}
