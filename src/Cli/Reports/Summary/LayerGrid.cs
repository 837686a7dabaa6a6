using Sweep.Storage.Database;

namespace Sweep.Cli.Reports.Summary;

/// <summary>One panel of the layer grid: a heatmap of one measure between the layers of two models, and whether those models were trained.</summary>
public sealed record LayerGridPanel(Heatmap Heatmap, string Training)
{
    public string Title => $"{LayerGrid.MeasureName(Heatmap.Measure)}{(Training == "" ? "" : $", {Training}")}: {Heatmap.ModelA} vs {Heatmap.ModelB}";
}

/// <summary>
/// The layer × layer similarity of two models at a glance: one row of panels per measure (linear CKA, then SVCCA,
/// then the other whole-space measures), one column per model pair, trained pairs before untrained ones, every panel on
/// the same colour scale [0, 1] so a trained pair and its untrained control compare by colour. Only pairs of sites
/// from two different models with at least two values (what <see cref="Heatmap.From"/> draws).
/// </summary>
public sealed record LayerGrid(IReadOnlyList<IReadOnlyList<LayerGridPanel>> Rows)
{
    public const string FileName = "summary-layer-grid.png";
    public const string Title = "Layer × layer similarity across models";

    /// <summary>The measures a grid shows, in row order: each in [0, 1], 1 for identical spaces.</summary>
    public static IReadOnlyList<string> Measures { get; } = ["cka_linear", "svcca", "cka_unbiased", "pwcca"];

    public static string MeasureName(string measure) => measure switch
    {
        "cka_linear" => "linear CKA",
        "svcca" => "SVCCA",
        "cka_unbiased" => "unbiased CKA",
        "pwcca" => "PWCCA",
        _ => measure,
    };

    public int Columns => Rows.Max(r => r.Count);

    /// <summary>The grid of a run's metrics, or null when no measure of <see cref="Measures"/> compares two models' layers.</summary>
    public static LayerGrid? From(IEnumerable<MetricRow> metrics, IReadOnlyDictionary<string, int?> trainingSteps)
    {
        var panels = Heatmap.From(metrics.Where(m => m.ModelB is not null && m.ModelA != m.ModelB && Measures.Contains(m.Measure)))
            .Select(h => new LayerGridPanel(h, SummaryContent.TrainingOf(trainingSteps, h.ModelA, h.ModelB)))
            .ToList();
        if (panels.Count == 0) return null;
        var rows = panels.GroupBy(p => p.Heatmap.Measure).OrderBy(g => Measures.ToList().IndexOf(g.Key))
            .Select(g => (IReadOnlyList<LayerGridPanel>)g.OrderBy(p => TrainingRank(p.Training)).ThenBy(p => p.Heatmap.ModelA, StringComparer.Ordinal)
                .ThenBy(p => p.Heatmap.ModelB, StringComparer.Ordinal).ThenBy(p => p.Heatmap.Analysis, StringComparer.Ordinal).ToList())
            .ToList();
        return new LayerGrid(rows);
    }

    private static int TrainingRank(string training) => training switch { "trained" => 0, "untrained" => 2, "" => 3, _ => 1 };
}
