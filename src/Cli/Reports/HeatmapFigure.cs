using ScottPlot;

namespace Sweep.Cli.Reports;

/// <summary>Draws a <see cref="Heatmap"/> with ScottPlot: one coloured cell per site pair, its value written in it, a colour bar beside.</summary>
public static class HeatmapFigure
{
    public static byte[] RenderPng(Heatmap heatmap)
    {
        int rows = heatmap.Rows.Count, columns = heatmap.Columns.Count;
        var plot = new Plot();
        Draw(plot, heatmap, heatmap.Title, range: null);
        int width = Math.Max(720, 420 + 110 * columns), height = Math.Max(480, 300 + 60 * rows);
        return plot.GetImageBytes(width, height, ImageFormat.Png);
    }

    /// <summary>
    /// Draws <paramref name="heatmap"/> into <paramref name="plot"/> under <paramref name="title"/>, on the colour scale
    /// <paramref name="range"/> (null: the values' own range), so several panels can share one scale.
    /// </summary>
    public static void Draw(Plot plot, Heatmap heatmap, string title, ScottPlot.Range? range)
    {
        int rows = heatmap.Rows.Count, columns = heatmap.Columns.Count;
        plot.Font.Set("DejaVu Sans");   // Debian's fonts-dejavu-core (scripts/install.sh); another sans-serif font where it is missing
        var cells = plot.Add.Heatmap(heatmap.Values);   // row 0 is drawn at the top, at y = rows - 1
        cells.Colormap = new ScottPlot.Colormaps.Viridis();
        var filled = heatmap.Values.Cast<double>().Where(v => !double.IsNaN(v)).ToList();
        if (range is { } fixedRange) cells.ManualRange = fixedRange;
        else if (filled.Count > 0 && filled.Min() == filled.Max())   // one value everywhere: centre it on a scale of its own
            cells.ManualRange = new ScottPlot.Range(filled[0] - 0.5, filled[0] + 0.5);
        plot.Add.ColorBar(cells);

        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
            {
                double value = heatmap.Values[r, c];
                if (double.IsNaN(value)) continue;
                var label = plot.Add.Text(ReportFormat.Cell(value), c, rows - 1 - r);
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontSize = 13;
                label.LabelFontColor = Colors.White;
                label.LabelBackgroundColor = Colors.Black.WithAlpha(0.35);
            }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, columns).Select(c => (double)c).ToArray(), heatmap.Columns.ToArray());
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, rows).Select(r => (double)(rows - 1 - r)).ToArray(), heatmap.Rows.ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 30;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 150;
        plot.Axes.Left.MinimumSize = 190;
        plot.HideGrid();
        plot.Title(title);
        plot.XLabel(heatmap.ModelB);
        plot.YLabel(heatmap.ModelA);
    }
}
