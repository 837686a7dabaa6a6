using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Concepts;

/// <summary>What a <c>pca</c> analysis decomposes.</summary>
public enum PcaSource
{
    /// <summary>The label means (one item per label), centred across the labels.</summary>
    LabelMeans,
    /// <summary>An SAE's decoder rows (one item per feature).</summary>
    Decoder,
    /// <summary>A seeded sample of reduced prompts (<see cref="PromptSample"/>).</summary>
    Sample,
}

/// <summary>A label's point on the components: its position in the analysis's label order and its coordinates.</summary>
public sealed record LabelPoint(string Label, int Order, double[] Coordinates);

/// <param name="Pca">The decomposition (items in the order of <paramref name="ItemIds"/> or of the label points).</param>
/// <param name="Points">
/// One point per label: for <see cref="PcaSource.LabelMeans"/> the label mean's coordinates, for
/// <see cref="PcaSource.Sample"/> the centroid of the label's sampled items; empty for decoder rows.
/// </param>
/// <param name="ItemIds">Per item: the sample's item ids (sequence ≪ 32 | position), the feature index for decoder rows, null for label means.</param>
/// <param name="ItemLabels">Per sampled item its label's index in <paramref name="Points"/>' order; null otherwise.</param>
/// <param name="Note">Labels left out (no items), when any.</param>
public sealed record ConceptPcaResult(PcaSource Source, PcaResult Pca, IReadOnlyList<LabelPoint> Points, long[]? ItemIds, int[]? ItemLabels, string? Note);

/// <summary>
/// The <c>pca</c> measure over one site. Conventions are <see cref="Pca"/>'s (centred over the items, variance over
/// n − 1, ratios of the total variance, each component's largest loading positive). Sources:
/// <list type="bullet">
/// <item><b>label means</b>: the items are the means of the chosen labels (all labels with items by default, in the
/// statistics' order; a given order selects and orders them), from <see cref="LabelStatistics"/>; a label without items
/// is left out and named in the note. Engels et al.'s day-of-week circle is the first two components of the seven day means.</item>
/// <item><b>sample</b>: the items of a <see cref="PromptSample"/>; each label's point is the mean of its items' coordinates.</item>
/// <item><b>decoder</b>: the rows of an SAE's W_dec, one per feature.</item>
/// </list>
/// </summary>
public static class ConceptPca
{
    public static ConceptPcaResult OfLabelMeans(LabelStatistics stats, int components, IReadOnlyList<string>? order = null)
    {
        var names = order ?? stats.Labels;
        var indices = names.Select(name => stats.Labels.ToList().IndexOf(name)).ToList();
        if (indices.IndexOf(-1) is var missing and >= 0)
            throw new ArgumentException($"label '{names[missing]}' does not occur, expected one of: {string.Join(", ", stats.Labels)}");
        var empty = indices.Where(l => stats.Count(l) == 0).Select(l => stats.Labels[l]).ToList();
        var kept = indices.Where(l => stats.Count(l) > 0).ToList();
        if (kept.Count < 2) throw new ArgumentException($"a PCA of label means needs at least two labels with items, found {kept.Count}");
        var data = new double[(long)kept.Count * stats.Width];
        for (int r = 0; r < kept.Count; r++)
            for (int j = 0; j < stats.Width; j++) data[(long)r * stats.Width + j] = stats.Mean(kept[r], j);
        var pca = Pca.Fit(new DenseMatrix(kept.Count, stats.Width, data), components);
        var points = kept.Select((l, r) => new LabelPoint(stats.Labels[l], r, Row(pca, r))).ToList();
        return new ConceptPcaResult(PcaSource.LabelMeans, pca, points, null, null,
            empty.Count == 0 ? null : $"left out for having no items: {string.Join(", ", empty)}");
    }

    public static ConceptPcaResult OfSample(PromptSample sample, int components)
    {
        var (ids, labels, vectors) = sample.ToMatrix();
        var pca = Pca.Fit(vectors, components);
        var points = new List<LabelPoint>();
        var absent = new List<string>();
        for (int l = 0; l < sample.Labels.Count; l++)
        {
            var rows = Enumerable.Range(0, labels.Length).Where(i => labels[i] == l).ToList();
            if (rows.Count == 0) { absent.Add(sample.Labels[l]); continue; }
            var centroid = new double[pca.Components];
            foreach (int i in rows)
                for (int c = 0; c < pca.Components; c++) centroid[c] += pca.Coordinate(i, c) / rows.Count;
            points.Add(new LabelPoint(sample.Labels[l], points.Count, centroid));
        }
        // Item labels as indices into the points (labels without sampled items have no point).
        var pointOf = points.Select((p, i) => (p.Label, i)).ToDictionary(x => x.Label, x => x.i);
        var itemLabels = labels.Select(l => pointOf[sample.Labels[l]]).ToArray();
        return new ConceptPcaResult(PcaSource.Sample, pca, points, ids, itemLabels,
            absent.Count == 0 ? null : $"no sampled items: {string.Join(", ", absent)}");
    }

    public static ConceptPcaResult OfDecoder(DenseMatrix decoderRows, int components) =>
        new(PcaSource.Decoder, Pca.Fit(decoderRows, components), [], [.. Enumerable.Range(0, decoderRows.Rows).Select(i => (long)i)], null, null);

    private static double[] Row(PcaResult pca, int item) =>
        [.. Enumerable.Range(0, pca.Components).Select(c => pca.Coordinate(item, c))];
}
