namespace Sweep.Analysis.Concepts;

/// <summary>How selective a feature is for its preferred label (see <see cref="Selectivity"/>).</summary>
public enum SelectivityIndex
{
    /// <summary>(μ_pref − μ̄_others)/(μ_pref + μ̄_others), in [0, 1], for non-negative codes (SAE features).</summary>
    Ratio,
    /// <summary>(μ_pref − μ̄_others)/s_within, a d′ for signed activations (dense sites).</summary>
    DPrime,
}

/// <param name="Index">The index; the pipeline uses <see cref="SelectivityIndex.Ratio"/> on SAE code sites and <see cref="SelectivityIndex.DPrime"/> on dense ones.</param>
/// <param name="TopK">Specialists kept per label.</param>
/// <param name="Exclude">Labels left out entirely (e.g. a neutral baseline): they are neither preferred nor among the others.</param>
public sealed record SelectivityOptions(SelectivityIndex Index, int TopK = 20, IReadOnlyList<string>? Exclude = null);

/// <summary>
/// One feature's selectivity: its mean per label (<see cref="Means"/>, in <see cref="SelectivityResult.Labels"/> order),
/// the label it prefers, the mean of the other labels' means, and the index (null when undefined, the reason in
/// <see cref="Note"/>). <see cref="Rank"/> is its place among its preferred label's specialists (1 = most selective),
/// 0 when it has no index.
/// </summary>
public sealed record SelectivityFeature(int Feature, string PreferredLabel, double PreferredMean, double OthersMean, double? Index, int Rank,
    double[] Means, string? Note);

/// <param name="Labels">The labels compared (with items, not excluded), in the statistics' order.</param>
/// <param name="Features">Every feature, by index.</param>
/// <param name="Specialists">Per label (in <paramref name="Labels"/> order), its top-k features by index, most selective first.</param>
public sealed record SelectivityResult(SelectivityIndex Index, IReadOnlyList<string> Labels, IReadOnlyList<SelectivityFeature> Features,
    IReadOnlyList<SelectivityFeature> Specialists);

/// <summary>
/// The <c>selectivity</c> measure, per feature j over the labels with items (minus excluded ones), from
/// <see cref="LabelStatistics"/>: μₗ the mean of label l, the preferred label p = argmax μₗ (ties: the earlier label),
/// μ̄_others the unweighted mean of the other labels' μₗ (each label counts once, however many prompts it has).
/// <list type="bullet">
/// <item><b>ratio</b> (SAE codes): SI = (μ_p − μ̄_others)/(μ_p + μ̄_others). For non-negative codes SI ∈ [0, 1]: 1 when the
/// feature fires only for its label, 0 when it fires equally for all — the selectivity index of neuroscience (as in
/// Lan et al.'s and Engels et al.'s specialists). Undefined for a feature that never fires (μ_p = 0) and, being
/// meaningless for signed values, whenever a label's mean is negative.</item>
/// <item><b>dprime</b> (dense activations, signed): d′ = (μ_p − μ̄_others)/s_w with s_w² = Σₗ (nₗ − 1)s²ₗ / (N − L), the
/// pooled within-label variance — how many within-label standard deviations the preferred label stands above the
/// others' average. Undefined when s_w = 0. A ratio would be meaningless here: means can be negative or cancel.</item>
/// </list>
/// Specialists of label l: the features preferring l, by index descending (ties: lower feature), the first k.
/// </summary>
public static class Selectivity
{
    public static SelectivityResult Finish(LabelStatistics stats, SelectivityOptions options)
    {
        if (options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), options.TopK, "top_k must be at least 1");
        foreach (var name in options.Exclude ?? [])
            if (!stats.Labels.Contains(name)) throw new ArgumentException($"excluded label '{name}' does not occur, expected one of: {string.Join(", ", stats.Labels)}");
        var used = Enumerable.Range(0, stats.Labels.Count)
            .Where(l => stats.Count(l) > 0 && !(options.Exclude ?? []).Contains(stats.Labels[l])).ToArray();
        if (used.Length < 2)
            throw new ArgumentException($"selectivity needs at least two labels with items, found {used.Length} ({string.Join(", ", used.Select(l => stats.Labels[l]))})");
        var labels = used.Select(l => stats.Labels[l]).ToList();

        // Pooled within-label variance per feature (d'), over the used labels.
        long dof = used.Sum(l => stats.Count(l)) - used.Length;
        var features = new SelectivityFeature[stats.Width];
        for (int j = 0; j < stats.Width; j++)
        {
            var means = used.Select(l => stats.Mean(l, j)).ToArray();
            int best = 0;
            for (int k = 1; k < means.Length; k++) if (means[k] > means[best]) best = k;
            double others = 0;
            for (int k = 0; k < means.Length; k++) if (k != best) others += means[k];
            others /= means.Length - 1;
            double? index = null;
            string? note = null;
            if (options.Index == SelectivityIndex.Ratio)
            {
                if (means.Any(m => m < 0)) note = "a negative label mean: the ratio index needs non-negative codes";
                else if (means[best] == 0) note = "never active";
                else index = (means[best] - others) / (means[best] + others);
            }
            else
            {
                double within = 0;
                foreach (int l in used)
                    if (stats.Count(l) >= 2) within += (stats.Count(l) - 1) * stats.Variance(l, j);
                if (dof <= 0) note = "no within-label variance: every label has a single item";
                else if (within <= 0) note = "zero within-label variance";
                else index = (means[best] - others) / Math.Sqrt(within / dof);
            }
            features[j] = new SelectivityFeature(j, labels[best], means[best], others, index, 0, means, note);
        }

        var specialists = new List<SelectivityFeature>();
        foreach (var label in labels)
        {
            var ranked = features.Where(f => f.PreferredLabel == label && f.Index is not null)
                .OrderByDescending(f => f.Index!.Value).ThenBy(f => f.Feature).ToList();
            for (int r = 0; r < ranked.Count; r++) features[ranked[r].Feature] = ranked[r] with { Rank = r + 1 };
            specialists.AddRange(ranked.Take(options.TopK).Select(f => features[f.Feature]));
        }
        return new SelectivityResult(options.Index, labels, features, specialists);
    }
}
