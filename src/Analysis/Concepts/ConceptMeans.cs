namespace Sweep.Analysis.Concepts;

/// <summary>
/// One label's concept mean: its item count n, the mean vector (null when n = 0) and the per-dimension unbiased
/// variance (n − 1 in the denominator; null when n &lt; 2). <see cref="Note"/> says why a part is null.
/// </summary>
public sealed record ConceptMean(string Label, long Count, double[]? Mean, double[]? Variance, string? Note);

/// <summary>
/// The <c>concept_means</c> measure: per label, n, the mean of the reduced prompt vectors and their per-dimension
/// variance, finished from <see cref="LabelStatistics"/>. Conventions: items are reduced prompts (see
/// <see cref="PromptReduction"/>); mean = Σx/n; variance = (Σx² − (Σx)²/n)/(n − 1), like numpy's <c>var(ddof=1)</c>.
/// Labels come out in the statistics' label order.
/// </summary>
public static class ConceptMeans
{
    public static IReadOnlyList<ConceptMean> Finish(LabelStatistics stats)
    {
        var means = new List<ConceptMean>(stats.Labels.Count);
        for (int l = 0; l < stats.Labels.Count; l++)
        {
            long n = stats.Count(l);
            if (n == 0) { means.Add(new ConceptMean(stats.Labels[l], 0, null, null, "no items with this label")); continue; }
            var mean = new double[stats.Width];
            var sums = stats.SumsOf(l);
            for (int j = 0; j < mean.Length; j++) mean[j] = sums[j] / n;
            double[]? variance = null;
            if (n >= 2)
            {
                variance = new double[stats.Width];
                for (int j = 0; j < variance.Length; j++) variance[j] = stats.Variance(l, j);
            }
            means.Add(new ConceptMean(stats.Labels[l], n, mean, variance, n < 2 ? "one item: variance undefined" : null));
        }
        return means;
    }
}
