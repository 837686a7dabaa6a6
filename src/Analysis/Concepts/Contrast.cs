using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Concepts;

/// <summary>Which features a contrast ranks at the top: those where the label is above the baseline, below it, or either.</summary>
public enum ContrastDirection { Higher, Lower, Both }

/// <summary>The score a contrast ranks features by: Cohen's d, Welch's t or the plain difference of means.</summary>
public enum ContrastRanking { CohensD, WelchT, Difference }

/// <param name="Baseline">The label every other label is compared with; null compares each label with all the others pooled.</param>
/// <param name="TopK">Features kept per label (at most the width).</param>
public sealed record ContrastOptions(string? Baseline, int TopK = 20, ContrastRanking RankBy = ContrastRanking.CohensD,
    ContrastDirection Direction = ContrastDirection.Higher);

/// <summary>
/// One feature (dimension) of one label's contrast. Null statistics are undefined, with the reason in <see cref="Note"/>.
/// <see cref="Q"/> is the Benjamini–Hochberg adjusted p-value over all of the label's features.
/// </summary>
public sealed record ContrastFeature(
    string Label, string Against, int Rank, int Feature, double MeanLabel, double MeanBaseline, double Difference,
    double? T, double? DegreesOfFreedom, double? P, double? Q, double? CohensD, long CountLabel, long CountBaseline, string? Note);

/// <summary>One label's contrast as a whole: the group sizes, how many features had a defined test, how many have q &lt; 0.05.</summary>
public sealed record ContrastSummary(string Label, string Against, long CountLabel, long CountBaseline, int Tested, int Significant, string? Note);

public sealed record ContrastResult(IReadOnlyList<ContrastSummary> Labels, IReadOnlyList<ContrastFeature> Top);

/// <summary>
/// The <c>contrast</c> measure: each label against a baseline label (or against all other labels pooled, named
/// <see cref="Rest"/>), per feature, from <see cref="LabelStatistics"/>. Conventions, with A the label's items and B the
/// baseline's, s² the unbiased (n − 1) variances:
/// <list type="bullet">
/// <item>difference = mean(A) − mean(B);</item>
/// <item>Welch's t = difference / √(s²_A/n_A + s²_B/n_B), with Welch–Satterthwaite degrees of freedom
/// ν = (s²_A/n_A + s²_B/n_B)² / ((s²_A/n_A)²/(n_A − 1) + (s²_B/n_B)²/(n_B − 1)) and the two-sided p-value of t(ν) —
/// scipy's <c>ttest_ind(a, b, equal_var=False)</c>;</item>
/// <item>Cohen's d = difference / s_pooled, s_pooled = √(((n_A − 1)s²_A + (n_B − 1)s²_B)/(n_A + n_B − 2)) (the classic
/// pooled SD, not the average of the two variances);</item>
/// <item>q: Benjamini–Hochberg adjusted p-values over the label's features with a defined p (false discovery rate,
/// one family per label and site);</item>
/// <item>undefined, stored as null with a note: everything but the means when a group has fewer than two items; t, ν, p
/// and d when both groups have zero variance in the feature (a dead SAE feature, a constant dimension).</item>
/// </list>
/// Top-k per label: features with a defined score (d, t or the difference) above 0 (<see cref="ContrastDirection.Higher"/>,
/// largest first), below 0 (<see cref="ContrastDirection.Lower"/>, most negative first) or non-zero
/// (<see cref="ContrastDirection.Both"/>, largest |score| first); ties by lower feature index. The baseline label gets no
/// contrast of its own.
/// </summary>
public static class Contrast
{
    /// <summary>The name of the baseline "all other labels".</summary>
    public const string Rest = "rest";

    public static ContrastResult Finish(LabelStatistics stats, ContrastOptions options)
    {
        if (options.TopK < 1) throw new ArgumentOutOfRangeException(nameof(options), options.TopK, "top_k must be at least 1");
        int baseline = options.Baseline is null ? -1 : IndexOf(stats, options.Baseline);
        var summaries = new List<ContrastSummary>();
        var top = new List<ContrastFeature>();
        for (int l = 0; l < stats.Labels.Count; l++)
        {
            if (l == baseline) continue;
            var features = Compare(stats, l, baseline);
            string against = options.Baseline ?? Rest;
            long nA = stats.Count(l), nB = baseline >= 0 ? stats.Count(baseline) : stats.TotalCount - nA;
            string? note = nA == 0 ? "no items with this label" : nB == 0 ? "no items in the baseline" : null;
            int tested = features.Count(f => f.P is not null);
            summaries.Add(new ContrastSummary(stats.Labels[l], against, nA, nB, tested, features.Count(f => f.Q < 0.05), note));
            if (nA > 0 && nB > 0) top.AddRange(TopK(features, options));
        }
        return new ContrastResult(summaries, top);
    }

    /// <summary>Every feature of label <paramref name="label"/> against label <paramref name="baseline"/> (−1: all other labels), rank 0.</summary>
    public static IReadOnlyList<ContrastFeature> Compare(LabelStatistics stats, int label, int baseline)
    {
        int width = stats.Width;
        long nA = stats.Count(label);
        var sumsA = stats.SumsOf(label).ToArray();
        var squaresA = stats.SquaresOf(label).ToArray();
        long nB;
        double[] sumsB, squaresB;
        if (baseline >= 0) { nB = stats.Count(baseline); sumsB = stats.SumsOf(baseline).ToArray(); squaresB = stats.SquaresOf(baseline).ToArray(); }
        else
        {
            // The others pooled: their sums added label by label (never the total minus this label, which would cancel).
            nB = 0; sumsB = new double[width]; squaresB = new double[width];
            for (int o = 0; o < stats.Labels.Count; o++)
            {
                if (o == label) continue;
                nB += stats.Count(o);
                var s = stats.SumsOf(o); var sq = stats.SquaresOf(o);
                for (int j = 0; j < width; j++) { sumsB[j] += s[j]; squaresB[j] += sq[j]; }
            }
        }
        string name = stats.Labels[label], against = baseline >= 0 ? stats.Labels[baseline] : Rest;
        var features = new ContrastFeature[width];
        var p = new double[width];
        for (int j = 0; j < width; j++)
        {
            features[j] = Feature(name, against, j, nA, sumsA[j], squaresA[j], nB, sumsB[j], squaresB[j]);
            p[j] = features[j].P ?? double.NaN;
        }
        var q = MultipleTesting.BenjaminiHochberg(p);
        for (int j = 0; j < width; j++)
            if (!double.IsNaN(q[j])) features[j] = features[j] with { Q = q[j] };
        return features;
    }

    private static ContrastFeature Feature(string label, string against, int j, long nA, double sumA, double squaresA, long nB, double sumB, double squaresB)
    {
        double meanA = nA > 0 ? sumA / nA : double.NaN, meanB = nB > 0 ? sumB / nB : double.NaN;
        double diff = meanA - meanB;
        var row = new ContrastFeature(label, against, 0, j, meanA, meanB, diff, null, null, null, null, null, nA, nB, null);
        if (nA < 2 || nB < 2) return row with { Note = "fewer than two items in a group" };
        double varA = Moments.Variance(nA, sumA, squaresA), varB = Moments.Variance(nB, sumB, squaresB);
        double seA = varA / nA, seB = varB / nB, se2 = seA + seB;
        if (se2 == 0) return row with { Note = "zero variance in both groups" };
        double t = diff / Math.Sqrt(se2);
        double df = se2 * se2 / (seA * seA / (nA - 1) + seB * seB / (nB - 1));
        double pooled = Math.Sqrt(((nA - 1) * varA + (nB - 1) * varB) / (nA + nB - 2));
        return row with { T = t, DegreesOfFreedom = df, P = StudentT.TwoSidedP(t, df), CohensD = diff / pooled };
    }

    private static IEnumerable<ContrastFeature> TopK(IReadOnlyList<ContrastFeature> features, ContrastOptions options)
    {
        double? Score(ContrastFeature f) => options.RankBy switch
        {
            ContrastRanking.CohensD => f.CohensD,
            ContrastRanking.WelchT => f.T,
            _ => f.Difference,
        };
        var scored = features.Select(f => (Feature: f, Score: Score(f))).Where(s => s.Score is not null).Select(s => (s.Feature, Score: s.Score!.Value));
        var ranked = options.Direction switch
        {
            ContrastDirection.Higher => scored.Where(s => s.Score > 0).OrderByDescending(s => s.Score),
            ContrastDirection.Lower => scored.Where(s => s.Score < 0).OrderBy(s => s.Score),
            _ => scored.Where(s => s.Score != 0).OrderByDescending(s => Math.Abs(s.Score)),
        };
        return ranked.ThenBy(s => s.Feature.Feature).Take(options.TopK).Select((s, i) => s.Feature with { Rank = i + 1 });
    }

    private static int IndexOf(LabelStatistics stats, string label)
    {
        for (int l = 0; l < stats.Labels.Count; l++)
            if (stats.Labels[l] == label) return l;
        throw new ArgumentException($"baseline label '{label}' does not occur, expected one of: {string.Join(", ", stats.Labels)}");
    }
}
