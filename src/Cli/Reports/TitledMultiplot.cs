using ScottPlot;
using SkiaSharp;

namespace Sweep.Cli.Reports;

/// <summary>A ScottPlot multiplot drawn as a PNG under a bold title across the top: every grid figure of the report.</summary>
public static class TitledMultiplot
{
    /// <summary>Height of the title band above the panels, in pixels.</summary>
    public const int TitleHeight = 44;

    /// <summary>Debian's fonts-dejavu-core (scripts/install.sh); another sans-serif font where it is missing.</summary>
    public const string Font = "DejaVu Sans";

    /// <param name="width">Image width; the panels take <paramref name="height"/> − <see cref="TitleHeight"/> below the title.</param>
    public static byte[] RenderPng(Multiplot multiplot, int width, int height, string title, float titleSize = 20)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        canvas.Save();
        canvas.Translate(0, TitleHeight);   // the multiplot draws from the canvas origin whatever the rectangle's top
        multiplot.Render(canvas, new PixelRect(left: 0, right: width, bottom: height - TitleHeight, top: 0));
        canvas.Restore();
        using (var typeface = SKTypeface.FromFamilyName(Font, SKFontStyle.Bold))
        using (var font = new SKFont(typeface, titleSize))
        using (var paint = new SKPaint { Color = SKColors.Black, IsAntialias = true })
            canvas.DrawText(title, width / 2f, 30, SKTextAlign.Center, font, paint);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }
}
