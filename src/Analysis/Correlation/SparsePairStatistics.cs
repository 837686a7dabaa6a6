namespace Sweep.Analysis.Correlation;

/// <summary>
/// Mergeable statistics of two aligned sparse, non-negative codes (SAE features of A and B on the same
/// tokens): n; per feature Σv and Σv²; and Σ aᵢbⱼ over the tokens where both i and j are active
/// (co-active pairs only). Cost O(Σₜ nnzA(t)·nnzB(t)), memory O(distinct co-active pairs).
/// Merge adds everything; it is associative and commutative (up to float64 rounding of the sums).
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
    internal PairSums Cross { get; }

    private SparsePairStatistics(int widthA, int widthB, long count, double[] sumA, double[] sumSqA, double[] sumB, double[] sumSqB, PairSums cross)
    {
        WidthA = widthA; WidthB = widthB; Count = count;
        SumA = sumA; SumSqA = sumSqA; SumB = sumB; SumSqB = sumSqB; Cross = cross;
    }

    public static SparsePairStatistics Empty(int widthA, int widthB) =>
        new(widthA, widthB, 0, new double[widthA], new double[widthA], new double[widthB], new double[widthB], new PairSums());

    /// <summary>Number of distinct co-active pairs held.</summary>
    public int CoActivePairs => Cross.Count;

    /// <summary>Approximate memory held, in bytes.</summary>
    public long Bytes => Cross.Bytes + 16L * (WidthA + WidthB);

    public static SparsePairStatistics FromRows(SparseRows a, SparseRows b)
    {
        if (a.Rows != b.Rows) throw new ArgumentException($"sparse codes of A and B cover {a.Rows} and {b.Rows} tokens, expected the same tokens");
        a.Validate(); b.Validate();
        var s = Empty(a.Width, b.Width);
        s.Count = a.Rows;
        Accumulate(a, s.SumA, s.SumSqA);
        Accumulate(b, s.SumB, s.SumSqB);
        long widthB = b.Width;
        for (int t = 0; t < a.Rows; t++)
        {
            int bStart = b.Offsets[t], bEnd = b.Offsets[t + 1];
            if (bStart == bEnd) continue;
            for (int p = a.Offsets[t]; p < a.Offsets[t + 1]; p++)
            {
                double va = a.Values[p];
                if (va == 0) continue;
                long row = a.Indices[p] * widthB;
                // float32 x float32 is exact in float64 (48 significant bits).
                for (int q = bStart; q < bEnd; q++)
                    if (b.Values[q] != 0) s.Cross.Add(row + b.Indices[q], va * b.Values[q]);
            }
        }
        return s;
    }

    public SparsePairStatistics Merge(SparsePairStatistics other)
    {
        if (other.WidthA != WidthA || other.WidthB != WidthB)
            throw new ArgumentException($"cannot merge sparse statistics of widths {WidthA}x{WidthB} and {other.WidthA}x{other.WidthB}");
        var (big, small) = Cross.Count >= other.Cross.Count ? (this, other) : (other, this);
        var cross = big.Cross.Clone();
        foreach (var (key, value) in small.Cross.Entries()) cross.Add(key, value);
        return new SparsePairStatistics(WidthA, WidthB, Count + other.Count,
            Add(SumA, other.SumA), Add(SumSqA, other.SumSqA), Add(SumB, other.SumB), Add(SumSqB, other.SumSqB), cross);
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
