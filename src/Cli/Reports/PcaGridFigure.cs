using System.Globalization;
using ScottPlot;

namespace Sweep.Cli.Reports;

/// <summary>
/// Draws a <see cref="PcaGrid"/> with ScottPlot: the title across the top, then one square-unit panel per site — the
/// labels' points coloured by their place in the order, each written beside its point, joined by a grey line in label
/// order for label means (closed when cyclic), the axes named with each component's share of the variance.
/// </summary>
public static class PcaGridFigure
{
    private const int PanelSize = 440, MaxColumns = 3;
    private const string Font = TitledMultiplot.Font;

    public static byte[] RenderPng(PcaGrid grid)
    {
        int columns = Math.Min(MaxColumns, grid.Panels.Count), rows = (grid.Panels.Count + columns - 1) / columns;
        int width = columns * PanelSize, height = rows * PanelSize + TitledMultiplot.TitleHeight;
        var multiplot = new Multiplot();
        multiplot.AddPlots(rows * columns);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        for (int i = 0; i < rows * columns; i++)
        {
            var plot = multiplot.GetPlot(i);
            if (i < grid.Panels.Count) DrawPanel(plot, grid.Panels[i]);
            else { plot.Axes.Frameless(); plot.HideGrid(); }
        }

        return TitledMultiplot.RenderPng(multiplot, width, height, grid.Title);
    }

    private static void DrawPanel(Plot plot, PcaPanel panel)
    {
        plot.Font.Set(Font);
        plot.Title(panel.Site, size: 14);
        plot.XLabel($"PC1 ({Percent(panel.RatioX)})", size: 12);
        plot.YLabel(panel.RatioY is { } ry ? $"PC2 ({Percent(ry)})" : "PC2 (none: one component)", size: 12);

        var points = panel.Points;
        if (panel.Source == "label_means")   // a sample's label centroids come in corpus order, which a line would not mean
        {
            var path = panel.Cyclic && points.Count > 2 ? [.. points, points[0]] : points;
            var line = plot.Add.Scatter(path.Select(p => p.X).ToArray(), path.Select(p => p.Y).ToArray(), Colors.Gray.WithAlpha(0.7));
            line.LineWidth = 1.5f;
            line.MarkerSize = 0;
        }

        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < points.Count; i++)
        {
            var color = palette.GetColor(i);
            var marker = plot.Add.Marker(points[i].X, points[i].Y, MarkerShape.FilledCircle, size: 11, color);
            var text = plot.Add.Text(points[i].Label, points[i].X, points[i].Y);
            text.LabelFontSize = 13;
            text.LabelFontColor = color.Darken(0.3);
            text.LabelAlignment = Alignment.LowerCenter;
            text.LabelOffsetY = -7;
            _ = marker;
        }
        // Equal units on both axes (a circle stays round), with a fifth of the larger span around the points for the labels.
        double left = points.Min(p => p.X), right = points.Max(p => p.X), bottom = points.Min(p => p.Y), top = points.Max(p => p.Y);
        double pad = 0.2 * Math.Max(Math.Max(right - left, top - bottom), 1e-12);
        plot.Axes.SetLimits(left - pad, right + pad, bottom - pad, top + pad);
        plot.Axes.SquareUnits();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = ReportFormat.Tick };
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = ReportFormat.Tick };
    }

    private static string Percent(double ratio) => double.IsNaN(ratio) ? "?" : (100 * ratio).ToString("0.0", CultureInfo.InvariantCulture) + "%";
}
