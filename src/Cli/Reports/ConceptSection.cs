using System.Text;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>
/// The tables of a concept analysis's section (its PCA figures come with the section's figures): items per label, each
/// label's contrast summary and its strongest features with their effect sizes, each label's specialists, the PCA
/// components' shares of the variance. An undefined value (NULL in the database) shows as "—", with the note beside it.
/// </summary>
public static class ConceptSection
{
    public static void Append(StringBuilder html, string analysis, ConceptContent content)
    {
        var means = content.Means.Where(m => m.Analysis == analysis).ToList();
        if (means.Count > 0)
            HtmlReport.Table(html, "Items per label", ["model", "site", "label", "items", "reduction", "note"],
                means.Select(m => new[] { m.Model, m.Site, m.Label, $"{m.N}", m.Reduction, m.Note ?? "" }));

        var summaries = content.ContrastLabels.Where(c => c.Analysis == analysis).ToList();
        if (summaries.Count > 0)
            HtmlReport.Table(html, "Contrasts per label (q: Benjamini–Hochberg over the label's features)",
                ["model", "site", "label", "against", "items", "baseline items", "features tested", "q < 0.05", "note"],
                summaries.Select(s => new[] { s.Model, s.Site, s.Label, s.Baseline, $"{s.NLabel}", $"{s.NBaseline}", $"{s.Tested}", $"{s.Significant}", s.Note ?? "" }));
        foreach (var group in content.Contrasts.Where(c => c.Analysis == analysis).GroupBy(c => (c.Model, c.Site, c.Label, c.Baseline)))
            HtmlReport.Table(html, $"Top features of {group.Key.Label} against {group.Key.Baseline}: {group.Key.Model} {group.Key.Site}",
                ["rank", "feature", "mean", "baseline mean", "difference", "Cohen's d", "Welch t", "df", "p", "q", "note"],
                group.Select(c => new[]
                {
                    $"{c.Rank}", $"{c.Feature}", ReportFormat.Number(c.MeanLabel), ReportFormat.Number(c.MeanBaseline), ReportFormat.Number(c.Difference),
                    Maybe(c.CohensD), Maybe(c.T), Maybe(c.Df), Maybe(c.P), Maybe(c.Q), c.Note ?? "",
                }));

        foreach (var group in content.Specialists.Where(s => s.Analysis == analysis).GroupBy(s => (s.Model, s.Site, s.PreferredLabel)))
            HtmlReport.Table(html, $"Specialists of {group.Key.PreferredLabel}: {group.Key.Model} {group.Key.Site}",
                ["rank", "feature", $"selectivity ({group.First().IndexKind})", "mean", "others' mean"],
                group.Select(s => new[] { $"{s.Rank}", $"{s.Feature}", ReportFormat.Number(s.Selectivity), ReportFormat.Number(s.PreferredMean), ReportFormat.Number(s.OthersMean) }));

        foreach (var umap in content.Umaps.Where(u => u.Analysis == analysis))
            foreach (var panel in umap.Panels.Where(p => p.Skipped is not null))
                html.Append($"<p>UMAP of {Html.Escape(umap.Model)} {Html.Escape(panel.Site)} skipped: {Html.Escape(panel.Skipped)}.</p>\n");

        var components = content.Components.Where(c => c.Analysis == analysis).ToList();
        if (components.Count > 0)
            HtmlReport.Table(html, "PCA components", ["model", "site", "source", "component", "share of variance", "variance", "items", "note"],
                components.Select(c => new[]
                {
                    c.Model, c.Site, c.Source, $"{c.Component}", ReportFormat.Number(c.ExplainedVarianceRatio), ReportFormat.Number(c.ExplainedVariance), $"{c.Items}", c.Note ?? "",
                }));
    }

    private static string Maybe(double? value) => value is { } v ? ReportFormat.Number(v) : "—";
}
