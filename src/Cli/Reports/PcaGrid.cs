namespace Sweep.Cli.Reports;

/// <summary>A label's point on the first two components (Y is 0 when the PCA kept one component).</summary>
public sealed record PcaPoint(string Label, int Order, double X, double Y);

/// <summary>One site's panel: its label points in the analysis's label order, each axis's share of the variance, whether the order is a cycle.</summary>
public sealed record PcaPanel(string Site, string Source, IReadOnlyList<PcaPoint> Points, double RatioX, double? RatioY, bool Cyclic);

/// <summary>
/// The layout of one pca analysis's figure for one model: a panel per site (residual-stream order, so a layer sweep reads
/// left to right, top to bottom), each the labels' points on PC1 and PC2 joined in label order — the loop closed when the
/// order is cyclic, so seven days on a circle show as a ring.
/// </summary>
public sealed record PcaGrid(string Analysis, string Model, IReadOnlyList<PcaPanel> Panels)
{
    public string Title => $"{Analysis}: PCA of labels, {Model}";

    /// <summary>E.g. <c>days-pca-tiny-a.png</c>.</summary>
    public string FileName => ReportFormat.FileName($"{Analysis}-pca-{Model}") + ".png";

    /// <summary>The grids of a run's pca analyses: sites with label points, by analysis, model and site.</summary>
    public static IReadOnlyList<PcaGrid> From(ConceptContent content) =>
        content.LabelPoints
            .GroupBy(p => (p.Analysis, p.Model))
            .Select(g => new PcaGrid(g.Key.Analysis, g.Key.Model, g
                .GroupBy(p => p.Site)
                .Select(site => Panel(site.Key, site.ToList(), content.Components
                    .Where(c => c.Analysis == g.Key.Analysis && c.Model == g.Key.Model && c.Site == site.Key).ToList()))
                .Where(panel => panel.Points.Count > 0)
                .ToList()))
            .Where(grid => grid.Panels.Count > 0)
            .ToList();

    private static PcaPanel Panel(string site, List<Storage.Database.PcaCoordinateRow> points, List<Storage.Database.PcaComponentRow> components)
    {
        var byLabel = points.Where(p => p.Label is not null)
            .GroupBy(p => (Label: p.Label!, Order: p.LabelOrder ?? 0))
            .OrderBy(l => l.Key.Order).ThenBy(l => l.Key.Label, StringComparer.Ordinal)
            .Select(l => new PcaPoint(l.Key.Label, l.Key.Order,
                l.FirstOrDefault(p => p.Component == 1)?.Value ?? 0, l.FirstOrDefault(p => p.Component == 2)?.Value ?? 0))
            .ToList();
        double Ratio(int component) => components.FirstOrDefault(c => c.Component == component)?.ExplainedVarianceRatio ?? double.NaN;
        return new PcaPanel(site, points.FirstOrDefault()?.Source ?? "", byLabel, Ratio(1),
            components.Any(c => c.Component == 2) ? Ratio(2) : null, components.FirstOrDefault()?.Cyclic ?? false);
    }
}
