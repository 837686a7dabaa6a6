namespace Sweep.Analysis.Correlation;

/// <summary>
/// Mergeable statistics of two aligned sparse, non-negative codes (SAE features of A and B on the same
/// tokens): n; per feature Σv and Σv²; and Σ aᵢbⱼ over the tokens where both i and j are active
/// (co-active pairs only). Cost O(Σₜ nnzA(t)·nnzB(t)), memory O(distinct co-active pairs).
/// Merge adds everything (the cross sums by a row-wise sorted merge); it is associative and commutative
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

    public static SparsePairStatistics Empty(int widthA, int widthB) =>
        new(widthA, widthB, 0, new double[widthA], new double[widthA], new double[widthB], new double[widthB], CrossSums.Empty(widthA));

    /// <summary>Number of distinct co-active pairs held.</summary>
    public int CoActivePairs => Cross.Count;

    /// <summary>Approximate memory held, in bytes.</summary>
    public long Bytes => Cross.Bytes + 16L * (WidthA + WidthB);

    public static SparsePairStatistics FromRows(SparseRows a, SparseRows b)
    {
        if (a.Rows != b.Rows) throw new ArgumentException($"sparse codes of A and B cover {a.Rows} and {b.Rows} tokens, expected the same tokens");
        a.Validate(); b.Validate();
        var sumA = new double[a.Width]; var sumSqA = new double[a.Width];
        var sumB = new double[b.Width]; var sumSqB = new double[b.Width];
        Accumulate(a, sumA, sumSqA);
        Accumulate(b, sumB, sumSqB);
        return new SparsePairStatistics(a.Width, b.Width, a.Rows, sumA, sumSqA, sumB, sumSqB, CrossSums.Product(a, b));
    }

    public SparsePairStatistics Merge(SparsePairStatistics other)
    {
        if (other.WidthA != WidthA || other.WidthB != WidthB)
            throw new ArgumentException($"cannot merge sparse statistics of widths {WidthA}x{WidthB} and {other.WidthA}x{other.WidthB}");
        return new SparsePairStatistics(WidthA, WidthB, Count + other.Count,
            Add(SumA, other.SumA), Add(SumSqA, other.SumSqA), Add(SumB, other.SumB), Add(SumSqB, other.SumSqB), Cross.Add(other.Cross));
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
        int k = Array.BinarySearch(Cross.Columns, Cross.RowStart[a], Cross.RowStart[a + 1] - Cross.RowStart[a], b);
        double cross = k >= 0 ? Cross.Values[k] : 0.0;
        return (cross - SumA[a] * SumB[b] / n) * (1.0 / Math.Sqrt(va)) * (1.0 / Math.Sqrt(vb));
    }

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
