using Sweep.Analysis.Concepts;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// A concept measure's result at one site as rows of the concept tables (docs/schema.md, "Concept tables"): the one
/// place those rows are made. Labels keep the analysis's label order (<c>label_order</c> from 0); PCA components count
/// from 1.
/// </summary>
public static class ConceptRows
{
    public static ConceptResults From(string analysis, string model, string site, ConceptResult result)
    {
        var rows = new ConceptResults();
        if (result.Means is { } means)
            rows = rows with
            {
                Means = [.. means.Select((m, order) => new ConceptMeanRow(analysis, model, site, m.Label, order, m.Count,
                    ConceptParameters.Name(result.Reduce), m.Mean, m.Variance, m.Note))],
            };
        if (result.Contrast is { } contrast)
            rows = rows with
            {
                ContrastLabels = [.. contrast.Labels.Select(l => new ContrastLabelRow(analysis, model, site, l.Label, l.Against, l.CountLabel, l.CountBaseline,
                    l.Tested, l.Significant, l.Note))],
                Contrasts = [.. contrast.Top.Select(f => new ContrastRow(analysis, model, site, f.Label, f.Against, f.Rank, f.Feature, f.MeanLabel,
                    f.MeanBaseline, f.Difference, f.T, f.DegreesOfFreedom, f.P, f.Q, f.CohensD, f.CountLabel, f.CountBaseline, f.Note))],
            };
        if (result.Selectivity is { } selectivity)
            rows = rows with
            {
                Selectivity = [.. selectivity.Specialists.Select(f => new SelectivityRow(analysis, model, site, f.Feature, f.PreferredLabel, f.Rank,
                    selectivity.Index == SelectivityIndex.Ratio ? "ratio" : "dprime", f.Index!.Value, f.PreferredMean, f.OthersMean,
                    [.. selectivity.Labels], f.Means))],
            };
        if (result.Pca is { } pca)
        {
            var (components, coordinates) = Pca(analysis, model, site, pca, result.Cyclic);
            rows = rows with { PcaComponents = components, PcaCoordinates = coordinates };
        }
        return rows;
    }

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
}
