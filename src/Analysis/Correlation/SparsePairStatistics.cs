using System.Runtime.CompilerServices;
namespace Sweep.Analysis.Correlation;

/// <summary>
/// Mergeable statistics of two aligned sparse codes (SAE features of A and B on the same tokens; non-negative,
/// or signed where the rows say so, <see cref="SparseRows.Signed"/>): n; per feature Σv and Σv²; and Σ aᵢbⱼ over
/// the tokens where both i and j are active (co-active pairs only). Cost O(Σₜ nnzA(t)·nnzB(t)), memory O(distinct
/// co-active pairs) (see <see cref="CrossSums"/>).
/// <see cref="Add"/> folds more tokens in place; merge adds everything (the cross sums row by row); it is associative
/// and commutative (up to float64 rounding of the sums). The cross sums may be held for a range of A features only
/// (a tile, <see cref="LowA"/>..<see cref="HighA"/>); the per-feature sums always cover every feature.
/// </summary>
public sealed class SparsePairStatistics
{
    public int WidthA { get; }
    public int WidthB { get; }
    public long Count { get; private set; }
    public double[] SumA { get; }
    public double[] SumSqA { get; }
    public double[] SumB { get; }
    public double[] SumSqB { get; }
    internal CrossSums Cross { get; }

    private SparsePairStatistics(int widthA, int widthB, long count, double[] sumA, double[] sumSqA, double[] sumB, double[] sumSqB, CrossSums cross)
    {
        WidthA = widthA; WidthB = widthB; Count = count;
        SumA = sumA; SumSqA = sumSqA; SumB = sumB; SumSqB = sumSqB; Cross = cross;
    }

    /// <summary>Statistics from their parts (a partial read back from its file).</summary>
    internal static SparsePairStatistics FromParts(long count, double[] sumA, double[] sumSqA, double[] sumB, double[] sumSqB, CrossSums cross) =>
        new(sumA.Length, sumB.Length, count, sumA, sumSqA, sumB, sumSqB, cross);

    public static SparsePairStatistics Empty(int widthA, int widthB) => Empty(widthA, widthB, 0, widthA);

    /// <summary>No tokens yet; cross sums to be held for A features [<paramref name="lowA"/>, <paramref name="highA"/>) only.</summary>
    public static SparsePairStatistics Empty(int widthA, int widthB, int lowA, int highA)
    {
        if (lowA < 0 || highA > widthA || lowA > highA) throw new ArgumentException($"A feature range [{lowA}, {highA}) is not within 0..{widthA}");
        return new(widthA, widthB, 0, new double[widthA], new double[widthA], new double[widthB], new double[widthB], CrossSums.Empty(widthA, widthB, lowA, highA));
    }

    /// <summary>Number of distinct co-active pairs held.</summary>
    public long CoActivePairs => Cross.Count;

    /// <summary>A features whose cross sums are held as a dense row (co-active with at least 2/3 of B).</summary>
    public int DenseRowsA => Cross.DenseRows;

    /// <summary>The A features whose cross sums are held: [LowA, HighA), all of A unless tiled.</summary>
    public int LowA => Cross.LowA;
    public int HighA => Cross.HighA;

    /// <summary>Approximate memory held, in bytes.</summary>
    public long Bytes => Cross.Bytes + 16L * (WidthA + WidthB);

    public static SparsePairStatistics FromRows(SparseRows a, SparseRows b) => FromBlocks([(a, b)]);

    /// <summary>
    /// The statistics of consecutive blocks of aligned tokens taken as one (one sparse product over all their tokens).
    /// </summary>
    public static SparsePairStatistics FromBlocks(IReadOnlyList<(SparseRows A, SparseRows B)> blocks)
    {
        if (blocks.Count == 0) throw new ArgumentException("no blocks of codes");
        var stats = Empty(blocks[0].A.Width, blocks[0].B.Width);
        stats.Add(blocks);
        return stats;
    }

    /// <summary>
    /// Folds consecutive blocks of aligned tokens (taken as one sparse product) into these statistics in place: the
    /// products go straight into the cross-sum rows (see <see cref="CrossSums.AddProduct"/>), no second copy of the
    /// pairs is made.
    /// </summary>
    public void Add(IReadOnlyList<(SparseRows A, SparseRows B)> blocks)
    {
        foreach (var (a, b) in blocks)
        {
            if (a.Rows != b.Rows) throw new ArgumentException($"sparse codes of A and B cover {a.Rows} and {b.Rows} tokens, expected the same tokens");
            if (a.Width != WidthA || b.Width != WidthB) throw new ArgumentException($"blocks of {a.Width}x{b.Width} features among blocks of {WidthA}x{WidthB}");
        }
        if (blocks.Count == 0) return;
        var aBlocks = blocks.Select(p => p.A).ToList();
        var bBlocks = blocks.Select(p => p.B).ToList();
        try
        {
            // Each side checked block by block (an error names the token within its block) before anything is added.
            Parallel.Invoke(
                () => { foreach (var a in aBlocks) a.Validate(); },
                () => { foreach (var b in bBlocks) b.Validate(); });
        }
        catch (AggregateException e) when (e.InnerExceptions is [ArgumentException first, ..])
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
        Parallel.Invoke(
            () => { foreach (var a in aBlocks) Accumulate(a, SumA, SumSqA); },
            () => { foreach (var b in bBlocks) Accumulate(b, SumB, SumSqB); });
        Cross.AddProduct(aBlocks, bBlocks);
        Count += aBlocks.Sum(a => (long)a.Rows);
    }

    /// <summary>
    /// Stops holding the cross sums of A features from <paramref name="from"/> on and releases them: a fold that outgrew
    /// its memory budget leaves those features to a later pass over the tokens.
    /// </summary>
    internal void TruncateA(int from) => Cross.Truncate(from);

    public SparsePairStatistics Merge(SparsePairStatistics other) => Merge(other, consume: false);

    /// <summary>
    /// As <see cref="Merge(SparsePairStatistics)"/>, for partials nobody else holds (a merge tree's): rows are added into
    /// in place where they have room (dense rows always, sparse rows within their spare capacity) and each operand's
    /// rows are released as soon as they are merged, so a merge needs about one copy of the pairs, not two. Neither
    /// operand may be used again.
    /// </summary>
    public SparsePairStatistics MergeConsuming(SparsePairStatistics other) => Merge(other, consume: true);

    private SparsePairStatistics Merge(SparsePairStatistics other, bool consume)
    {
        if (other.WidthA != WidthA || other.WidthB != WidthB)
            throw new ArgumentException($"cannot merge sparse statistics of widths {WidthA}x{WidthB} and {other.WidthA}x{other.WidthB}");
        return new SparsePairStatistics(WidthA, WidthB, Count + other.Count,
            Sum(SumA, other.SumA), Sum(SumSqA, other.SumSqA), Sum(SumB, other.SumB), Sum(SumSqB, other.SumSqB), Cross.Add(other.Cross, consume));
    }

    public static SparsePairStatistics MergeAll(IReadOnlyList<SparsePairStatistics> partials)
    {
        if (partials.Count == 0) throw new ArgumentException("no partial statistics to merge");
        var level = partials.ToList();
        while (level.Count > 1)
        {
            var next = new List<SparsePairStatistics>((level.Count + 1) / 2);
            for (int i = 0; i < level.Count; i += 2) next.Add(i + 1 < level.Count ? level[i].Merge(level[i + 1]) : level[i]);
            level = next;
        }
        return level[0];
    }

    /// <summary>
    /// Pearson r of A feature <paramref name="a"/> and B feature <paramref name="b"/> (0 when either is dead), the same
    /// formula <see cref="SparseCorrelation"/> uses: (Sₐᵦ − sₐsᵦ/n)/√(vₐvᵦ), Sₐᵦ = 0 for a pair never co-active.
    /// </summary>
    public double Correlation(int a, int b)
    {
        if (a < LowA || a >= HighA) throw new ArgumentOutOfRangeException(nameof(a), $"A feature {a} is outside the range [{LowA}, {HighA}) these statistics hold");
        long n = Count;
        double va = SumSqA[a] - SumA[a] * SumA[a] / n, vb = SumSqB[b] - SumB[b] * SumB[b] / n;
        if (DeadFeature.IsDead(va, SumSqA[a]) || DeadFeature.IsDead(vb, SumSqB[b])) return 0.0;
        return (Cross.Get(a, b) - SumA[a] * SumB[b] / n) * (1.0 / Math.Sqrt(va)) * (1.0 / Math.Sqrt(vb));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Accumulate(SparseRows rows, double[] sum, double[] sumSq)
    {
        for (int k = 0; k < rows.Indices.Length; k++)
        {
            double v = rows.Values[k];
            sum[rows.Indices[k]] += v;
            sumSq[rows.Indices[k]] += v * v;
        }
    }

    private static double[] Sum(double[] a, double[] b)
    {
        var s = new double[a.Length];
        for (int i = 0; i < s.Length; i++) s[i] = a[i] + b[i];
        return s;
    }
}
