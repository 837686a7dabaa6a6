using ScottPlot;

namespace Sweep.Cli.Reports;

/// <summary>
/// Draws a <see cref="UmapGrid"/> with ScottPlot: the title across the top, then one panel per site — every item a small
/// dot coloured by its label (one colour for decoder rows), a legend of the labels; a skipped panel says why.
/// </summary>
public static class UmapGridFigure
{
    private const int PanelSize = 440, MaxColumns = 3;
    private const string Font = TitledMultiplot.Font;

    public static byte[] RenderPng(UmapGrid grid)
    {
        int columns = Math.Min(MaxColumns, grid.Panels.Count), rows = (grid.Panels.Count + columns - 1) / columns;
        int width = columns * PanelSize, height = rows * PanelSize + TitledMultiplot.TitleHeight;
        var multiplot = new Multiplot();
        multiplot.AddPlots(rows * columns);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        for (int i = 0; i < rows * columns; i++)
        {
            var plot = multiplot.GetPlot(i);
            plot.Font.Set(Font);
            if (i < grid.Panels.Count) DrawPanel(plot, grid.Panels[i]);
            else { plot.Axes.Frameless(); plot.HideGrid(); }
        }

        return TitledMultiplot.RenderPng(multiplot, width, height, grid.Title);
    }

    private static void DrawPanel(Plot plot, UmapPanel panel)
    {
        plot.Title($"{panel.Site} ({panel.Items} {(panel.Source == "decoder" ? "decoder rows" : "sampled items")})", size: 14);
        plot.Axes.Bottom.TickLabelStyle.IsVisible = false;   // UMAP coordinates have no units
        plot.Axes.Left.TickLabelStyle.IsVisible = false;
        if (panel.Skipped is { } reason)
        {
            var text = plot.Add.Text($"UMAP skipped: {reason}", 0, 0);
            text.LabelFontSize = 11;
            text.LabelAlignment = Alignment.MiddleCenter;
            return;
        }
        var palette = new ScottPlot.Palettes.Category20();
        foreach (var group in panel.Points.GroupBy(p => (p.Order, p.Label)).OrderBy(g => g.Key.Order))
        {
            var color = group.Key.Label is null ? Colors.SteelBlue : palette.GetColor(group.Key.Order);
            var dots = plot.Add.ScatterPoints(group.Select(p => p.X).ToArray(), group.Select(p => p.Y).ToArray(), color);
            dots.MarkerSize = panel.Points.Count > 1000 ? 3 : 6;
            if (group.Key.Label is { } label) dots.LegendText = label;
        }
        if (panel.Points.Any(p => p.Label is not null)) plot.ShowLegend(Edge.Right);   // beside the panel, hiding no point
    }
}
