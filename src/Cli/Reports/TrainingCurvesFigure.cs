using ScottPlot;

namespace Sweep.Cli.Reports;

/// <summary>
/// Draws one SAE's <see cref="TrainingCurves"/> with ScottPlot: the title across the top, then four panels against step —
/// MSE and AuxK loss on one log-scale axis, fraction of variance explained, L0, dead features. A measure the SAE did not
/// store leaves its panel empty; any other <c>train_*</c> measure stays in the table.
/// </summary>
public static class TrainingCurvesFigure
{
    private const int Width = 1100, Height = 760;
    private const string Font = TitledMultiplot.Font;

    /// <summary>Each panel: its title, its measures with their legend names and colours, and whether its axis is log-scale.</summary>
    private static readonly (string Title, (string Measure, string Legend, Color Color)[] Series, bool Log)[] Panels =
    [
        ("Loss (log scale)", [("train_mse", "MSE", Colors.C0), ("train_aux_loss", "AuxK", Colors.C1)], true),
        ("Fraction of variance explained", [("train_fve", "FVE", Colors.C2)], false),
        ("L0 (active features per token)", [("train_l0", "L0", Colors.C4)], false),
        ("Dead features", [("train_dead_features", "dead", Colors.C3)], false),
    ];

    public static byte[] RenderPng(TrainingCurves curves)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(Panels.Length);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows: 2, columns: 2);
        for (int i = 0; i < Panels.Length; i++) DrawPanel(multiplot.GetPlot(i), Panels[i], curves);

        return TitledMultiplot.RenderPng(multiplot, Width, Height, curves.Title);
    }

    private static void DrawPanel(Plot plot, (string Title, (string Measure, string Legend, Color Color)[] Series, bool Log) panel, TrainingCurves curves)
    {
        plot.Font.Set(Font);
        plot.Title(panel.Title, size: 15);
        plot.XLabel("step", size: 13);
        var logValues = new List<double>();
        foreach (var (measure, legend, color) in panel.Series)
        {
            if (curves.Curve(measure) is not { } curve) continue;
            // A log axis has no place for zero (AuxK is 0 while no feature is dead): such points are left out and the legend says so.
            var points = curve.Steps.Zip(curve.Values).Where(p => !panel.Log || p.Second > 0).ToList();
            if (points.Count == 0)
            {
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{legend}: 0 at every step", LineColor = color, LineWidth = 2 });
                continue;
            }
            var line = plot.Add.Scatter(
                points.Select(p => (double)p.First).ToArray(),
                points.Select(p => panel.Log ? Math.Log10(p.Second) : p.Second).ToArray(), color);
            line.LineWidth = 2;
            line.MarkerSize = points.Count <= 50 ? 6 : 0;
            if (panel.Series.Length > 1) line.LegendText = points.Count < curve.Steps.Count ? $"{legend} (zeros not drawn)" : legend;
            logValues.AddRange(panel.Log ? points.Select(p => p.Second) : []);
        }
        if (panel.Series.Length > 1)
        {
            plot.ShowLegend(Alignment.UpperRight);
            plot.Axes.Margins(bottom: 0.05, top: 0.3);   // headroom for the legend, so it hides no point
        }
        plot.Axes.Left.TickGenerator = panel.Log && logValues.Count > 0
            ? LogTicks(logValues.Min(), logValues.Max())
            : new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = ReportFormat.Tick };
        plot.Axes.Left.MinimumSize = 70;
    }

    /// <summary>
    /// Ticks for values drawn as log10: at 1, 2 and 5 times each power of ten across [min, max] (one decade further
    /// each way), or at 1, 1.5, 2, 3, 4, 5 and 7 times when that leaves fewer than three inside the data; labelled with the value.
    /// </summary>
    private static ScottPlot.TickGenerators.NumericManual LogTicks(double min, double max)
    {
        int low = (int)Math.Floor(Math.Log10(min)) - 1, high = (int)Math.Ceiling(Math.Log10(max)) + 1;
        double[] Ticks(double[] mantissas) =>
            [.. Enumerable.Range(low, high - low + 1).SelectMany(e => mantissas.Select(m => m * Math.Pow(10, e)))];
        var ticks = Ticks([1, 2, 5]);
        if (ticks.Count(t => t >= min && t <= max) < 3) ticks = Ticks([1, 1.5, 2, 3, 4, 5, 7]);
        return new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(Math.Log10)], [.. ticks.Select(ReportFormat.Tick)]);
    }
}
