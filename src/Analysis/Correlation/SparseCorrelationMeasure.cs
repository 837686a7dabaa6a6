namespace Sweep.Analysis.Correlation;

/// <summary>
/// The <c>correlation</c> measure on sparse SAE codes: one <see cref="SparsePairStatistics"/> per block of aligned
/// tokens (a corpus shard), merged as a balanced tree, then exact best matches by <see cref="SparseCorrelation"/> —
/// the same metrics, with the same names, as <see cref="PairMeasures"/> gives for dense activations.
/// </summary>
public static class SparseCorrelationMeasure
{
    /// <summary>
    /// Streams the blocks into a binary-counter merge tree: slot k holds the merge of 2ᵏ consecutive blocks, so at most
    /// log₂(blocks) + 1 partials are alive at once, and each cross sum is merged O(log blocks) times.
    /// </summary>
    public static SparsePairStatistics Statistics(IEnumerable<(SparseRows A, SparseRows B)> blocks)
    {
        var slots = new List<SparsePairStatistics?>();
        foreach (var (a, b) in blocks)
        {
            var carry = SparsePairStatistics.FromRows(a, b);
            int k = 0;
            for (; k < slots.Count && slots[k] is { } held; k++)
            {
                carry = held.Merge(carry);
                slots[k] = null;
            }
            if (k == slots.Count) slots.Add(carry); else slots[k] = carry;
        }
        // Older (larger) partials on the left, keeping the corpus order of the tokens in every merge.
        SparsePairStatistics? total = null;
        for (int k = slots.Count - 1; k >= 0; k--)
            if (slots[k] is { } part) total = total is null ? part : total.Merge(part);
        return total ?? throw new ArgumentException("no blocks of codes to correlate");
    }

    public static PairMeasureResult Compute(SparsePairStatistics stats, int topK)
    {
        var matches = SparseCorrelation.BestMatches(stats, topK);
        var p = new Dictionary<string, object>
        {
            ["top_k"] = topK, ["path"] = "sparse", ["co_active_pairs"] = stats.CoActivePairs,
            ["dead_a"] = matches.DeadA.Count(d => d), ["dead_b"] = matches.DeadB.Count(d => d),
        };
        return new([
            new("correlation_mean_best_a_to_b", MeanBest(matches.AToB), matches.Count, p),
            new("correlation_mean_best_b_to_a", MeanBest(matches.BToA), matches.Count, p),
            new("correlation_mutual_pairs", matches.MutualPairs().Count, matches.Count, p),
        ], matches);
    }

    private static double MeanBest(Match[] matches)
    {
        var live = matches.Where(m => m.Index >= 0).ToList();
        return live.Count == 0 ? 0.0 : live.Average(m => m.Correlation);
    }
}
