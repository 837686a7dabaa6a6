namespace Sweep.Analysis.Correlation;

/// <summary>
/// The <c>correlation</c> measure on sparse SAE codes: aligned tokens (corpus shards) folded batch by batch into one
/// <see cref="SparsePairStatistics"/>, then exact best matches by <see cref="SparseCorrelation"/> — the statistics that
/// <see cref="Measures.CodeCorrelationMeasure"/> folds, merges and turns into rows. Within a memory budget the cross
/// sums are built for a range of A features at a time, one pass over the tokens per range (see docs/analyses.md).
/// </summary>
public static class SparseCorrelationMeasure
{
    /// <summary>Codes (A and B entries together) gathered into one sparse product before it is folded in.</summary>
    public const int BatchEntries = 1 << 24;

    /// <summary>
    /// Gathers consecutive blocks into batches of about <see cref="BatchEntries"/> codes and folds each into one
    /// growing statistics object (one sparse product per batch, added into the cross-sum rows in place): memory is the
    /// statistics plus one batch, and no partial or merged copy of the pairs ever exists.
    /// </summary>
    public static SparsePairStatistics Statistics(IEnumerable<(SparseRows A, SparseRows B)> blocks, long batchEntries = BatchEntries) =>
        Fold(blocks, batchEntries, lowA: 0, highA: null, budgetBytes: long.MaxValue).Stats;

    /// <summary>As <see cref="Statistics(IEnumerable{ValueTuple{SparseRows, SparseRows}}, long)"/>, with cross sums for A features [<paramref name="lowA"/>, <paramref name="highA"/>) only (one tile).</summary>
    public static SparsePairStatistics Statistics(IEnumerable<(SparseRows A, SparseRows B)> blocks, int lowA, int highA, long batchEntries = BatchEntries) =>
        Fold(blocks, batchEntries, lowA, highA, budgetBytes: long.MaxValue).Stats;

    /// <summary>
    /// Statistics whose cross sums hold A features [<paramref name="lowA"/>, HighA): HighA is the width of A unless the
    /// rows outgrow <paramref name="budgetBytes"/>, in which case the upper features are released as soon as that
    /// happens (keeping at least one) and left to a later pass. Also returns the most the statistics held.
    /// </summary>
    private static (SparsePairStatistics Stats, long PeakBytes) Fold(IEnumerable<(SparseRows A, SparseRows B)> blocks, long batchEntries, int lowA, int? highA, long budgetBytes)
    {
        SparsePairStatistics? stats = null;
        long peak = 0;
        var batch = new List<(SparseRows A, SparseRows B)>();
        long entries = 0;
        void Flush()
        {
            stats ??= SparsePairStatistics.Empty(batch[0].A.Width, batch[0].B.Width, lowA, highA ?? batch[0].A.Width);
            stats.Add(batch);
            batch.Clear();
            entries = 0;
            long bytes = stats.Bytes;
            peak = Math.Max(peak, bytes);
            if (bytes <= budgetBytes) return;
            // Keep the rows that fit in half the budget: they still grow as more tokens arrive.
            int cut = Math.Max(stats.LowA + 1, stats.Cross.FirstBeyond(budgetBytes / 2));
            if (cut < stats.HighA) stats.TruncateA(cut);
        }
        foreach (var (a, b) in blocks)
        {
            batch.Add((a, b));
            entries += a.Indices.Length + b.Indices.Length;
            if (entries >= batchEntries) Flush();
        }
        if (batch.Count > 0) Flush();
        return (stats ?? throw new ArgumentException("no blocks of codes to correlate"), peak);
    }

    /// <summary>What a budgeted correlation took: its matches, the distinct co-active pairs over all passes, and the passes.</summary>
    public sealed record BudgetedMatches(BestMatches Matches, long CoActivePairs, int Passes, long PeakStatisticsBytes);

    /// <summary>
    /// Exact best matches with the cross sums kept within <paramref name="budgetBytes"/>: one pass over
    /// <paramref name="blocks"/> folds as many A features as fit (all of them when the pairs fit), the tile's matches
    /// are taken and its sums released, and the next pass starts where it stopped. The blocks are enumerated once
    /// per pass (re-read from the store); the result is the same as in one pass.
    /// </summary>
    public static BudgetedMatches BestMatches(Func<IEnumerable<(SparseRows A, SparseRows B)>> blocks, int topK, long budgetBytes, long batchEntries = BatchEntries)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(budgetBytes, 1);
        var tiles = new SparseCorrelation.Tiles(topK);
        long pairs = 0, peak = 0;
        int passes = 0, lowA = 0, widthA;
        do
        {
            var (stats, held) = Fold(blocks(), batchEntries, lowA, highA: null, budgetBytes);
            widthA = stats.WidthA;
            passes++;
            pairs += stats.CoActivePairs;
            peak = Math.Max(peak, held);
            tiles.Add(stats);
            lowA = stats.HighA;
        } while (lowA < widthA);
        return new BudgetedMatches(tiles.Finish(), pairs, passes, peak);
    }
}
