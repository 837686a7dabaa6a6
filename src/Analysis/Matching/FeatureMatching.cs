using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Matching;

/// <summary>A matched pair: feature A of model A, feature B of model B, their activation correlation.</summary>
public readonly record struct FeaturePair(int A, int B, double Correlation);

/// <summary>
/// Settings of Lan et al.'s (arXiv 2410.06981) feature pairing. Each B feature is paired with its most
/// correlated A feature (many-to-one), then filtered in this order:
/// <list type="bullet">
/// <item>low correlation: drop pairs with r &lt; <see cref="MinCorrelation"/> (0.1);</item>
/// <item>non-concept: drop a pair when, for either feature, at least <see cref="NonConceptShare"/> of its top
/// activating tokens are in <see cref="NonConceptTokens"/> (punctuation, whitespace, special tokens);</item>
/// <item>shared top token: when <see cref="RequireSharedTopToken"/>, keep only pairs whose features share a top token;</item>
/// <item>one-to-one: when several B features claim the same A feature, keep only the most correlated claimant
/// (ties: lower B index) — or, with <see cref="Hungarian"/>, the assignment of the surviving features that
/// maximises the total correlation (Hungarian method on the correlations among them).</item>
/// </list>
/// </summary>
public sealed record MatchingOptions
{
    public double MinCorrelation { get; init; } = 0.1;
    public bool OneToOne { get; init; } = true;
    public bool Hungarian { get; init; }
    public IReadOnlySet<string> NonConceptTokens { get; init; } = new HashSet<string>();
    public double NonConceptShare { get; init; } = 0.5;
    public bool RequireSharedTopToken { get; init; }
}

public static class FeatureMatching
{
    /// <param name="matches">Best matches of the activations (B → A is the many-to-one pairing).</param>
    /// <param name="topTokensA">Per A feature its top activating tokens (null when the token filters are off).</param>
    /// <param name="correlation">r(a, b) for any pair, needed only for the Hungarian assignment.</param>
    public static IReadOnlyList<FeaturePair> Pair(BestMatches matches, MatchingOptions options,
        IReadOnlyList<IReadOnlyList<string>>? topTokensA = null, IReadOnlyList<IReadOnlyList<string>>? topTokensB = null,
        Func<int, int, double>? correlation = null)
    {
        var pairs = new List<FeaturePair>();
        for (int b = 0; b < matches.WidthB; b++)
        {
            var m = matches.BToA[b];
            if (m.Index >= 0) pairs.Add(new FeaturePair(m.Index, b, m.Correlation));
        }
        pairs = pairs.Where(p => p.Correlation >= options.MinCorrelation).ToList();
        if (options.NonConceptTokens.Count > 0)
        {
            if (topTokensA is null || topTokensB is null) throw new ArgumentException("the non-concept filter needs the top tokens of both sides");
            pairs = pairs.Where(p => !IsNonConcept(topTokensA[p.A], options) && !IsNonConcept(topTokensB[p.B], options)).ToList();
        }
        if (options.RequireSharedTopToken)
        {
            if (topTokensA is null || topTokensB is null) throw new ArgumentException("the shared-top-token filter needs the top tokens of both sides");
            pairs = pairs.Where(p => topTokensA[p.A].Intersect(topTokensB[p.B]).Any()).ToList();
        }
        if (options.Hungarian)
        {
            if (correlation is null) throw new ArgumentException("the Hungarian assignment needs the correlation of any pair");
            return Assign(pairs, correlation, options.MinCorrelation);
        }
        return options.OneToOne ? OneToOne(pairs) : pairs;
    }

    /// <summary>For every A feature claimed more than once, keep the most correlated claimant (ties: lower B).</summary>
    public static IReadOnlyList<FeaturePair> OneToOne(IEnumerable<FeaturePair> pairs) =>
        pairs.GroupBy(p => p.A)
             .Select(g => g.OrderByDescending(p => p.Correlation).ThenBy(p => p.B).First())
             .OrderBy(p => p.B).ToList();

    /// <summary>Hungarian assignment among the A and B features of the candidate pairs, maximising Σ r; assigned pairs below the threshold are dropped.</summary>
    public static IReadOnlyList<FeaturePair> Assign(IReadOnlyList<FeaturePair> candidates, Func<int, int, double> correlation, double minCorrelation)
    {
        var aFeatures = candidates.Select(p => p.A).Distinct().Order().ToArray();
        var bFeatures = candidates.Select(p => p.B).Distinct().Order().ToArray();
        if (aFeatures.Length == 0) return [];
        var cost = new double[bFeatures.Length * aFeatures.Length];
        for (int i = 0; i < bFeatures.Length; i++)
            for (int j = 0; j < aFeatures.Length; j++) cost[i * aFeatures.Length + j] = -correlation(aFeatures[j], bFeatures[i]);
        var assignment = Hungarian.Solve(cost, bFeatures.Length, aFeatures.Length);
        var result = new List<FeaturePair>();
        for (int i = 0; i < bFeatures.Length; i++)
        {
            if (assignment[i] < 0) continue;
            double r = -cost[i * aFeatures.Length + assignment[i]];
            if (r >= minCorrelation) result.Add(new FeaturePair(aFeatures[assignment[i]], bFeatures[i], r));
        }
        return result;
    }

    private static bool IsNonConcept(IReadOnlyList<string> topTokens, MatchingOptions options) =>
        topTokens.Count > 0 && topTokens.Count(options.NonConceptTokens.Contains) >= options.NonConceptShare * topTokens.Count;
}
