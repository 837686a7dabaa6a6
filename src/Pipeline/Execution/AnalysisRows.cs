using System.Text.Json;
using Sweep.Analysis.Measures;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>A measure's result as the rows of the <c>metrics</c>, <c>feature_matches</c> and concept tables: the one place analysis rows are made.</summary>
public static class AnalysisRows
{
    public static UnitOutput From(AnalysisTarget target, MeasureResult result)
    {
        var (a, b) = (target.A, target.B);
        var metrics = result.Values.Select(v => new MetricRow(target.Analysis.Name, v.Measure, a.Model, a.Site, b?.Model, b?.Site,
            v.Value, v.Count, JsonSerializer.Serialize(v.Parameters), v.UndefinedReason)).ToList();
        if (result.Matches.Count > 0 && b is null) throw new InvalidOperationException($"{target}: a one-site measure produced feature matches");
        var matches = result.Matches.Select(m => new FeatureMatchRow(target.Analysis.Name, a.Model, a.Site, b!.Model, b.Site,
            m.Direction, m.Feature, m.Rank, m.Match, m.Correlation, m.Mutual, m.Dead)).ToList();
        if (result.Concepts is not null && b is not null) throw new InvalidOperationException($"{target}: a pair measure produced concept rows");
        return new UnitOutput(Metrics: metrics, FeatureMatches: matches)
        {
            Concepts = result.Concepts is { } concepts ? ConceptRows.From(target.Analysis.Name, a.Model, a.Site, concepts) : null,
        };
    }
}
