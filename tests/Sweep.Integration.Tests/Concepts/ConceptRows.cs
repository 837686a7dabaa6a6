using Sweep.Analysis.Concepts;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// The concept measures' results as rows of the concept tables, for one analysis at one site. This is the mapping the
/// pipeline's finalize units will do once the concept kinds are wired (it belongs beside them then); the tests use it to
/// store real results and draw the report from them.
/// </summary>
public static class ConceptRows
{
    public static IReadOnlyList<ConceptMeanRow> Means(string analysis, string model, string site, Reduction reduction, IReadOnlyList<ConceptMean> means) =>
        [.. means.Select((m, order) => new ConceptMeanRow(analysis, model, site, m.Label, order, m.Count, Name(reduction), m.Mean, m.Variance, m.Note))];

    public static (IReadOnlyList<ContrastLabelRow> Labels, IReadOnlyList<ContrastRow> Top) Contrast(string analysis, string model, string site, ContrastResult result) =>
        ([.. result.Labels.Select(l => new ContrastLabelRow(analysis, model, site, l.Label, l.Against, l.CountLabel, l.CountBaseline, l.Tested, l.Significant, l.Note))],
         [.. result.Top.Select(f => new ContrastRow(analysis, model, site, f.Label, f.Against, f.Rank, f.Feature, f.MeanLabel, f.MeanBaseline, f.Difference,
             f.T, f.DegreesOfFreedom, f.P, f.Q, f.CohensD, f.CountLabel, f.CountBaseline, f.Note))]);

    public static IReadOnlyList<SelectivityRow> Selectivity(string analysis, string model, string site, SelectivityResult result) =>
        [.. result.Specialists.Select(f => new SelectivityRow(analysis, model, site, f.Feature, f.PreferredLabel, f.Rank,
            result.Index == SelectivityIndex.Ratio ? "ratio" : "dprime", f.Index!.Value, f.PreferredMean, f.OthersMean, [.. result.Labels], f.Means))];

    /// <summary>Every component, and the label points (and any item points) on them.</summary>
    public static (IReadOnlyList<PcaComponentRow> Components, IReadOnlyList<PcaCoordinateRow> Coordinates) Pca(
        string analysis, string model, string site, ConceptPcaResult result, bool cyclic)
    {
        string source = result.Source switch { PcaSource.LabelMeans => "label_means", PcaSource.Decoder => "decoder", _ => "sample" };
        var pca = result.Pca;
        var components = Enumerable.Range(0, pca.Components).Select(c => new PcaComponentRow(analysis, model, site, source, c + 1,
            pca.ExplainedVariance[c], pca.ExplainedVarianceRatio[c], pca.Items, cyclic, pca.Loading(c).ToArray(), result.Note)).ToList();
        var coordinates = result.Points.SelectMany(p => p.Coordinates.Select((value, c) =>
            new PcaCoordinateRow(analysis, model, site, source, p.Label, p.Order, null, c + 1, value))).ToList();
        if (result.ItemIds is { } ids)
            for (int i = 0; i < ids.Length; i++)
                for (int c = 0; c < pca.Components; c++)
                    coordinates.Add(new PcaCoordinateRow(analysis, model, site, source,
                        result.ItemLabels is { } labels ? result.Points[labels[i]].Label : null,
                        result.ItemLabels is { } order ? order[i] : null, ids[i], c + 1, pca.Coordinate(i, c)));
        return (components, coordinates);
    }

    public static string Name(Reduction reduction) => reduction.ToString().ToLowerInvariant();
}
