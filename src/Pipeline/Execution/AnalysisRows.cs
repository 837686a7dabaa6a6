using System.Text.Json;
using Sweep.Analysis.Measures;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>A measure's result as the rows of the <c>metrics</c> and <c>feature_matches</c> tables, the feature tables and the concept tables: the one place analysis rows are made.</summary>
public static class AnalysisRows
{
    /// <param name="texts">The corpus tokenizer's token texts, asked for only when the result has token ids to show (features).</param>
    public static UnitOutput From(AnalysisTarget target, MeasureResult result, Func<TokenTexts>? texts = null)
    {
        var (a, b) = (target.A, target.B);
        var metrics = result.Values.Select(v => new MetricRow(target.Analysis.Name, v.Measure, a.Model, a.Site, b?.Model, b?.Site,
            v.Value, v.Count, JsonSerializer.Serialize(v.Parameters), v.UndefinedReason)).ToList();
        if (result.Matches.Count > 0 && b is null) throw new InvalidOperationException($"{target}: a one-site measure produced feature matches");
        var matches = result.Matches.Select(m => new FeatureMatchRow(target.Analysis.Name, a.Model, a.Site, b!.Model, b.Site,
            m.Direction, m.Feature, m.Rank, m.Match, m.Correlation, m.Mutual, m.Dead)).ToList();
        var features = result.Features is { } outcome
            ? FeatureResultRows.From(target, outcome, (texts ?? throw new ArgumentException($"{target}: feature rows need the corpus tokenizer's texts"))())
            : null;
        if (result.Concepts is not null && b is not null) throw new InvalidOperationException($"{target}: a pair measure produced concept rows");
        return new UnitOutput(Metrics: metrics, FeatureMatches: matches)
        {
            Features = features,
            Concepts = result.Concepts is { } concepts ? ConceptRows.From(target.Analysis.Name, a.Model, a.Site, concepts) : null,
        };
    }
}
