using ScottPlot;

namespace Sweep.Cli.Reports.Summary;

/// <summary>Draws a <see cref="LayerGrid"/>: its title across the top, then one heatmap panel per measure and model pair, all on the colour scale [0, 1].</summary>
public static class LayerGridFigure
{
    public static byte[] RenderPng(LayerGrid grid)
    {
        int rows = grid.Rows.Count, columns = grid.Columns;
        var largest = grid.Rows.SelectMany(r => r).Select(p => p.Heatmap).ToList();
        int panelWidth = Math.Max(640, 380 + 95 * largest.Max(h => h.Columns.Count));
        int panelHeight = Math.Max(460, 280 + 55 * largest.Max(h => h.Rows.Count));
        int width = columns * panelWidth, height = rows * panelHeight + TitledMultiplot.TitleHeight;

        var multiplot = new Multiplot();
        multiplot.AddPlots(rows * columns);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
            {
                var plot = multiplot.GetPlot(r * columns + c);
                if (c < grid.Rows[r].Count) HeatmapFigure.Draw(plot, grid.Rows[r][c].Heatmap, grid.Rows[r][c].Title, new ScottPlot.Range(0, 1));
                else { plot.Axes.Frameless(); plot.HideGrid(); }
            }

        return TitledMultiplot.RenderPng(multiplot, width, height, LayerGrid.Title, titleSize: 22);
    }
}
