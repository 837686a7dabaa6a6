using System.Runtime.CompilerServices;
namespace Sweep.Analysis.Correlation;

/// <summary>
/// Mergeable statistics of two aligned sparse codes (SAE features of A and B on the same tokens; non-negative,
/// or signed where the rows say so, <see cref="SparseRows.Signed"/>): n; per feature Σv and Σv²; and Σ aᵢbⱼ over
/// the tokens where both i and j are active (co-active pairs only). Cost O(Σₜ nnzA(t)·nnzB(t)), memory O(distinct co-active pairs) (see <see cref="CrossSums"/>).
/// Merge adds everything (the cross sums row by row); it is associative and commutative
/// (up to float64 rounding of the sums).
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

    public static SparsePairStatistics Empty(int widthA, int widthB) =>
        new(widthA, widthB, 0, new double[widthA], new double[widthA], new double[widthB], new double[widthB], CrossSums.Empty(widthA, widthB));

    /// <summary>Number of distinct co-active pairs held.</summary>
    public long CoActivePairs => Cross.Count;

    /// <summary>A features whose cross sums are held as a dense row (co-active with at least 2/3 of B).</summary>
    public int DenseRowsA => Cross.DenseRows;

    /// <summary>Approximate memory held, in bytes.</summary>
    public long Bytes => Cross.Bytes + 16L * (WidthA + WidthB);

    public static SparsePairStatistics FromRows(SparseRows a, SparseRows b) => FromBlocks([(a, b)]);

    /// <summary>
    /// The statistics of consecutive blocks of aligned tokens taken as one (one sparse product over all their tokens).
    /// </summary>
    public static SparsePairStatistics FromBlocks(IReadOnlyList<(SparseRows A, SparseRows B)> blocks)
    {
        if (blocks.Count == 0) throw new ArgumentException("no blocks of codes");
        int widthA = blocks[0].A.Width, widthB = blocks[0].B.Width;
        foreach (var (a, b) in blocks)
        {
            if (a.Rows != b.Rows) throw new ArgumentException($"sparse codes of A and B cover {a.Rows} and {b.Rows} tokens, expected the same tokens");
            if (a.Width != widthA || b.Width != widthB) throw new ArgumentException($"blocks of {a.Width}x{b.Width} features among blocks of {widthA}x{widthB}");
        }
        var sumA = new double[widthA]; var sumSqA = new double[widthA];
        var sumB = new double[widthB]; var sumSqB = new double[widthB];
        var aBlocks = blocks.Select(p => p.A).ToList();
        var bBlocks = blocks.Select(p => p.B).ToList();
        try
        {
            // Each side checked block by block (an error names the token within its block), then summed.
            Parallel.Invoke(
                () => { foreach (var a in aBlocks) { a.Validate(); Accumulate(a, sumA, sumSqA); } },
                () => { foreach (var b in bBlocks) { b.Validate(); Accumulate(b, sumB, sumSqB); } });
        }
        catch (AggregateException e) when (e.InnerExceptions is [ArgumentException first, ..])
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
        }
        return new SparsePairStatistics(widthA, widthB, aBlocks.Sum(a => (long)a.Rows), sumA, sumSqA, sumB, sumSqB, CrossSums.Product(aBlocks, bBlocks));
    }

    public SparsePairStatistics Merge(SparsePairStatistics other) => Merge(other, consume: false);

    /// <summary>
    /// As <see cref="Merge(SparsePairStatistics)"/>, for partials nobody else holds (a merge tree's): dense cross-sum
    /// rows are added into in place instead of copied, and neither operand may be used again.
    /// </summary>
    internal SparsePairStatistics MergeConsuming(SparsePairStatistics other) => Merge(other, consume: true);

    private SparsePairStatistics Merge(SparsePairStatistics other, bool consume)
    {
        if (other.WidthA != WidthA || other.WidthB != WidthB)
            throw new ArgumentException($"cannot merge sparse statistics of widths {WidthA}x{WidthB} and {other.WidthA}x{other.WidthB}");
        return new SparsePairStatistics(WidthA, WidthB, Count + other.Count,
            Add(SumA, other.SumA), Add(SumSqA, other.SumSqA), Add(SumB, other.SumB), Add(SumSqB, other.SumSqB), Cross.Add(other.Cross, consume));
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

    private static double[] Add(double[] a, double[] b)
    {
        var s = new double[a.Length];
        for (int i = 0; i < s.Length; i++) s[i] = a[i] + b[i];
        return s;
    }
}
