using ScottPlot;
using SkiaSharp;

namespace Sweep.Cli.Reports.Summary;

/// <summary>Draws a <see cref="LayerGrid"/>: its title across the top, then one heatmap panel per measure and model pair, all on the colour scale [0, 1].</summary>
public static class LayerGridFigure
{
    private const int TitleHeight = 44;
    private const string Font = "DejaVu Sans";   // Debian's fonts-dejavu-core (scripts/install.sh); another sans-serif font where it is missing

    public static byte[] RenderPng(LayerGrid grid)
    {
        int rows = grid.Rows.Count, columns = grid.Columns;
        var largest = grid.Rows.SelectMany(r => r).Select(p => p.Heatmap).ToList();
        int panelWidth = Math.Max(640, 380 + 95 * largest.Max(h => h.Columns.Count));
        int panelHeight = Math.Max(460, 280 + 55 * largest.Max(h => h.Rows.Count));
        int width = columns * panelWidth, height = rows * panelHeight + TitleHeight;

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

        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        canvas.Save();
        canvas.Translate(0, TitleHeight);   // the multiplot draws from the canvas origin whatever the rectangle's top
        multiplot.Render(canvas, new PixelRect(left: 0, right: width, bottom: height - TitleHeight, top: 0));
        canvas.Restore();
        using (var typeface = SKTypeface.FromFamilyName(Font, SKFontStyle.Bold))
        using (var font = new SKFont(typeface, 22))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
            canvas.DrawText(LayerGrid.Title, width / 2f, 30, SKTextAlign.Center, font, paint);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
