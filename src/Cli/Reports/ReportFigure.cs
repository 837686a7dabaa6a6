namespace Sweep.Cli.Reports;

/// <summary>
/// One drawn figure of the page: the analysis section it belongs to, its title (alt text and caption), the file it is
/// written to beside <c>report.html</c>, and its PNG bytes (embedded in the page as a data: URI).
/// </summary>
public sealed record ReportFigure(string Analysis, string Title, string FileName, byte[] Png)
{
    /// <summary>Every figure of a run, in page order: the summary's layer grid, then per analysis its heatmaps, the training curves of an SAE it trained, the PCA and UMAP grids of a pca analysis.</summary>
    public static IReadOnlyList<ReportFigure> Draw(ReportContent content) =>
    [
        .. Summary.SummarySection.Figures(content),
        .. Heatmap.From(content.Metrics).Select(h => new ReportFigure(h.Analysis, h.Title, h.FileName, HeatmapFigure.RenderPng(h))),
        .. TrainingCurves.From(content.Metrics).Select(c => new ReportFigure(c.Sae, c.Title, c.FileName, TrainingCurvesFigure.RenderPng(c))),
        .. PcaGrid.From(content.Concepts).Select(g => new ReportFigure(g.Analysis, g.Title, g.FileName, PcaGridFigure.RenderPng(g))),
        .. content.Concepts.Umaps.Where(u => u.Drawn).Select(u => new ReportFigure(u.Analysis, u.Title, u.FileName, UmapGridFigure.RenderPng(u))),
    ];
}
