namespace Sweep.Analysis.Correlation;

/// <summary>
/// The <c>correlation</c> measure on sparse SAE codes: one <see cref="SparsePairStatistics"/> per batch of aligned
/// tokens (corpus shards), merged as a balanced tree, then exact best matches by <see cref="SparseCorrelation"/> —
/// the statistics that <see cref="Measures.CodeCorrelationMeasure"/> folds, merges and turns into rows.
/// </summary>
public static class SparseCorrelationMeasure
{
    /// <summary>Codes (A and B entries together) gathered into one sparse product before it joins the merge tree.</summary>
    public const int BatchEntries = 1 << 24;

    /// <summary>
    /// Gathers consecutive blocks into batches of about <see cref="BatchEntries"/> codes, one sparse product each — a
    /// product costs the same per co-active product over many tokens as over few, while every partial costs its stored
    /// pairs again when merged — and streams the batches into a binary-counter merge tree: slot k holds the merge of
    /// 2ᵏ consecutive batches, so at most log₂(batches) + 1 partials are alive at once.
    /// </summary>
    public static SparsePairStatistics Statistics(IEnumerable<(SparseRows A, SparseRows B)> blocks, long batchEntries = BatchEntries)
    {
        var slots = new List<SparsePairStatistics?>();
        var batch = new List<(SparseRows A, SparseRows B)>();
        long entries = 0;
        foreach (var (a, b) in blocks)
        {
            batch.Add((a, b));
            entries += a.Indices.Length + b.Indices.Length;
            if (entries < batchEntries) continue;
            Push(slots, SparsePairStatistics.FromBlocks(batch));
            batch.Clear();
            entries = 0;
        }
        if (batch.Count > 0) Push(slots, SparsePairStatistics.FromBlocks(batch));
        // Older (larger) partials on the left, keeping the corpus order of the tokens in every merge.
        SparsePairStatistics? total = null;
        for (int k = slots.Count - 1; k >= 0; k--)
            if (slots[k] is { } part) total = total is null ? part : total.MergeConsuming(part);
        return total ?? throw new ArgumentException("no blocks of codes to correlate");
    }

    private static void Push(List<SparsePairStatistics?> slots, SparsePairStatistics carry)
    {
        int k = 0;
        for (; k < slots.Count && slots[k] is { } held; k++)
        {
            carry = held.MergeConsuming(carry);
            slots[k] = null;
        }
        if (k == slots.Count) slots.Add(carry); else slots[k] = carry;
    }
}
