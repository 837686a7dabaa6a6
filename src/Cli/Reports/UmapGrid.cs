using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>An item on the UMAP layout: a sampled prompt (with its label) or a decoder row (no label).</summary>
public sealed record UmapPoint(long Item, string? Label, int Order, double X, double Y);

/// <summary>One site's UMAP layout of a pca analysis's items, from their coordinates on every stored component; or why it was skipped.</summary>
public sealed record UmapPanel(string Site, string Source, int Items, int Components, IReadOnlyList<UmapPoint> Points, string? Skipped);

/// <summary>
/// The UMAP figure of one pca analysis for one model: a panel per site with item points (<c>source: sample</c> or
/// <c>decoder</c>), each laid out by <see cref="UmapLayout"/> from the items' coordinates on all the analysis's stored
/// principal components (UMAP after PCA, as is usual), at most <see cref="MaxItems"/> items per site (those of lowest
/// item id). Points are coloured by label.
/// </summary>
public sealed record UmapGrid(string Analysis, string Model, IReadOnlyList<UmapPanel> Panels)
{
    public const int MaxItems = 5000;

    public string Title => $"{Analysis}: UMAP of items, {Model}";

    /// <summary>E.g. <c>codes-umap-tiny-a.png</c>.</summary>
    public string FileName => ReportFormat.FileName($"{Analysis}-umap-{Model}") + ".png";

    /// <summary>Whether any panel has a layout (otherwise there is no figure, only the reasons).</summary>
    public bool Drawn => Panels.Any(p => p.Skipped is null);

    public static IReadOnlyList<UmapGrid> From(IReadOnlyList<PcaCoordinateRow> itemPoints) =>
        itemPoints
            .GroupBy(p => (p.Analysis, p.Model))
            .OrderBy(g => g.Key.Analysis, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
            .Select(g => new UmapGrid(g.Key.Analysis, g.Key.Model,
                [.. g.GroupBy(p => p.Site).OrderBy(s => s.Key, SiteOrder.Instance).Select(site => Panel(site.Key, [.. site]))]))
            .ToList();

    private static UmapPanel Panel(string site, List<PcaCoordinateRow> rows)
    {
        var items = rows.GroupBy(r => r.Item!.Value).OrderBy(i => i.Key).ToList();
        int components = rows.Max(r => r.Component);
        var vectors = items.Select(i =>
        {
            var v = new double[components];
            foreach (var r in i) v[r.Component - 1] = r.Value;
            return v;
        }).ToList();
        var (layout, skipped) = UmapLayout.Compute(vectors);
        var points = layout is null ? [] : items.Select((i, k) => new UmapPoint(i.Key, i.First().Label, i.First().LabelOrder ?? 0, layout[k][0], layout[k][1])).ToList();
        return new UmapPanel(site, rows[0].Source, items.Count, components, points, skipped);
    }
}
