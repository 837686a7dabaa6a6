using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>
/// One measure of one analysis between the sites of two models: <see cref="Values"/>[row, column] is the value
/// for (<see cref="ModelA"/>, <see cref="Rows"/>[row]) against (<see cref="ModelB"/>, <see cref="Columns"/>[column]);
/// NaN where no value was stored or the value is undefined (the tables give the reason). Sites are in residual-stream order (<see cref="SiteOrder"/>).
/// </summary>
public sealed record Heatmap(
    string Analysis, string Measure, string ModelA, string ModelB,
    IReadOnlyList<string> Rows, IReadOnlyList<string> Columns, double[,] Values)
{
    public string Title => $"{Measure}: {ModelA} vs {ModelB} ({Analysis})";

    /// <summary>A file name made of the analysis, measure and models, e.g. <c>layer-cka-cka_linear-tiny-a-vs-tiny-b.png</c>.</summary>
    public string FileName => ReportFormat.FileName($"{Analysis}-{Measure}-{ModelA}-vs-{ModelB}") + ".png";

    /// <summary>
    /// The heatmaps of a run's pair metrics: one per (analysis, measure, model pair) with at least two cells filled
    /// (a single value, such as one SAE pair's, stays in the tables). A pair within one model fills both triangles
    /// of a square whose rows and columns are that model's sites.
    /// </summary>
    public static IReadOnlyList<Heatmap> From(IEnumerable<MetricRow> metrics) =>
        metrics.Where(m => m.ModelB is not null && m.SiteB is not null)
            .GroupBy(m => (m.Analysis, m.Measure, m.ModelA, ModelB: m.ModelB!))
            .OrderBy(g => g.Key.Analysis, StringComparer.Ordinal).ThenBy(g => g.Key.Measure, StringComparer.Ordinal)
            .ThenBy(g => g.Key.ModelA, StringComparer.Ordinal).ThenBy(g => g.Key.ModelB, StringComparer.Ordinal)
            .Select(g => Layout(g.Key.Analysis, g.Key.Measure, g.Key.ModelA, g.Key.ModelB, g.ToList()))
            .Where(h => h.Values.Cast<double>().Count(v => !double.IsNaN(v)) >= 2)
            .ToList();

    private static Heatmap Layout(string analysis, string measure, string modelA, string modelB, IReadOnlyList<MetricRow> cells)
    {
        bool within = modelA == modelB;
        var rowSites = cells.Select(m => m.SiteA).Concat(within ? cells.Select(m => m.SiteB!) : []);
        var columnSites = cells.Select(m => m.SiteB!).Concat(within ? cells.Select(m => m.SiteA) : []);
        var rows = rowSites.Distinct().Order(SiteOrder.Instance).ToList();
        var columns = columnSites.Distinct().Order(SiteOrder.Instance).ToList();
        var values = new double[rows.Count, columns.Count];
        for (int r = 0; r < rows.Count; r++)
            for (int c = 0; c < columns.Count; c++) values[r, c] = double.NaN;
        // A site pair stored twice (units commit once, so it should not be) shows its lowest value, whatever the row order.
        foreach (var m in cells.Where(m => m.Stored.Value is not null).OrderBy(m => m.Value))
        {
            int r = rows.IndexOf(m.SiteA), c = columns.IndexOf(m.SiteB!);
            if (!double.IsNaN(values[r, c])) continue;
            values[r, c] = m.Value!.Value;
            if (within) values[rows.IndexOf(m.SiteB!), columns.IndexOf(m.SiteA)] = m.Value!.Value;
        }
        return new Heatmap(analysis, measure, modelA, modelB, rows, columns, values);
    }
}
