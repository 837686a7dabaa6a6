using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>
/// What the report shows of the site measures that look inside one model (concept_means, contrast, selectivity, pca),
/// read from their tables: label counts, each label's contrast summary and its <see cref="TopRows"/> strongest
/// features, each label's <see cref="TopRows"/> first specialists, the PCA components (without loading vectors) and
/// the labels' points on the first two components. Sites are in residual-stream order.
/// </summary>
public sealed record ConceptContent(
    IReadOnlyList<ConceptMeanRow> Means,
    IReadOnlyList<ContrastLabelRow> ContrastLabels,
    IReadOnlyList<ContrastRow> Contrasts,
    IReadOnlyList<SelectivityRow> Specialists,
    IReadOnlyList<PcaComponentRow> Components,
    IReadOnlyList<PcaCoordinateRow> LabelPoints)
{
    /// <summary>UMAP layouts of the pca analyses' items (sampled prompts, decoder rows), computed when the content is loaded.</summary>
    public IReadOnlyList<UmapGrid> Umaps { get; init; } = [];

    /// <summary>Rows per label in the contrast and specialist tables.</summary>
    public const int TopRows = 10;

    public static readonly ConceptContent Empty = new([], [], [], [], [], []);

    public static async Task<ConceptContent> LoadAsync(SweepDatabase database, long runId, CancellationToken ct) => new(
        BySite(await database.GetConceptMeanCountsAsync(runId, ct), m => (m.Analysis, m.Model, m.Site)),
        BySite(await database.GetContrastLabelsAsync(runId, ct), c => (c.Analysis, c.Model, c.Site)),
        BySite(await database.GetContrastsAsync(runId, TopRows, ct), c => (c.Analysis, c.Model, c.Site)),
        BySite(await database.GetSelectivityAsync(runId, TopRows, ct), s => (s.Analysis, s.Model, s.Site)),
        BySite(await database.GetPcaComponentsAsync(runId, ct), p => (p.Analysis, p.Model, p.Site)),
        BySite(await database.GetPcaLabelPointsAsync(runId, 2, ct), p => (p.Analysis, p.Model, p.Site)))
    {
        Umaps = UmapGrid.From(await database.GetPcaItemPointsAsync(runId, UmapGrid.MaxItems, ct)),
    };

    /// <summary>The analyses with anything to show.</summary>
    public IEnumerable<string> Analyses =>
        Means.Select(m => m.Analysis).Concat(ContrastLabels.Select(c => c.Analysis)).Concat(Specialists.Select(s => s.Analysis))
            .Concat(Components.Select(c => c.Analysis)).Distinct();

    /// <summary>Stable order: analysis, model, site in residual-stream order; within a site the database's order is kept.</summary>
    private static List<T> BySite<T>(IEnumerable<T> rows, Func<T, (string Analysis, string Model, string Site)> key) =>
        [.. rows.OrderBy(r => key(r).Analysis, StringComparer.Ordinal).ThenBy(r => key(r).Model, StringComparer.Ordinal).ThenBy(r => key(r).Site, SiteOrder.Instance)];
}
