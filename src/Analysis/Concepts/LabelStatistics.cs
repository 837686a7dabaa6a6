using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Concepts;

/// <summary>
/// Mergeable per-label statistics of reduced prompt vectors: for every label l, the number of items nₗ, and per
/// dimension j the sum Σx and the sum of squares Σx² of the items' values, all in float64 (float32 activations widen
/// exactly). <c>concept_means</c>, <c>contrast</c>, <c>selectivity</c> and the PCA of label means all finish from
/// these. Partials over disjoint blocks merge by addition — associative and commutative up to float64 rounding of
/// the additions — so results do not depend on sharding, merge order or retries.
/// <para>
/// Variances come from raw moments, s² = (Σx² − (Σx)²/n)/(n − 1) (clamped at 0): relative to s² the rounding error is
/// about 10⁻¹⁶·(mean/sd)², negligible for activations (mean/sd of 10³ still leaves ten digits). Sparse codes add only
/// their non-zero entries, which is the same arithmetic.
/// </para>
/// Layout: label-major, entry [l × Width + j]. Items of sequences without a label in the <see cref="LabelIndex"/> are
/// counted in <see cref="Unlabelled"/> and left out.
/// </summary>
public sealed class LabelStatistics
{
    public IReadOnlyList<string> Labels { get; }
    public int Width { get; }
    public long[] Counts { get; }
    public double[] Sums { get; }
    public double[] SumSquares { get; }

    /// <summary>What the reduction did over every block folded in (prompts, items, prompts without the marker, empty prompts).</summary>
    public ReductionCounts Reduction { get; private set; } = ReductionCounts.None;

    /// <summary>Items whose sequence has no label in the index.</summary>
    public long Unlabelled { get; private set; }

    private LabelStatistics(IReadOnlyList<string> labels, int width, long[] counts, double[] sums, double[] squares)
    {
        Labels = labels; Width = width; Counts = counts; Sums = sums; SumSquares = squares;
    }

    public static LabelStatistics Empty(IReadOnlyList<string> labels, int width)
    {
        if (labels.Count == 0) throw new ArgumentException("no labels");
        if (width < 1) throw new ArgumentException($"width {width}");
        long cells = (long)labels.Count * width;
        if (cells > Array.MaxLength) throw new ArgumentException($"{labels.Count} labels x width {width} is too large for one statistic");
        return new LabelStatistics([.. labels], width, new long[labels.Count], new double[cells], new double[cells]);
    }

    /// <summary>Reduces the block's prompts (<paramref name="reduction"/>) and folds each item into its sequence's label.</summary>
    public static LabelStatistics FromBlock(ActivationBlock block, LabelIndex labels, ReductionOptions reduction)
    {
        var (items, counts) = PromptReduction.Items(block, reduction);
        var stats = Empty(labels.Names, block.Width);
        stats.Reduction = counts;
        var scratch = new double[block.Width];
        var touched = new List<int>();
        foreach (var item in items)
        {
            int label = labels.Of(item.Seq);
            if (label < 0) { stats.Unlabelled++; continue; }
            stats.Counts[label]++;
            long offset = (long)label * block.Width;
            if (block.Dense is not null)
            {
                PromptReduction.Vector(block, item, scratch);
                for (int j = 0; j < block.Width; j++)
                {
                    double v = scratch[j];
                    stats.Sums[offset + j] += v;
                    stats.SumSquares[offset + j] += v * v;
                }
            }
            else stats.AddSparse(block, item, offset, scratch, touched);
        }
        return stats;
    }

    /// <summary>A sparse item: its non-zero entries only; a mean over several rows gathers them in a dense scratch row first.</summary>
    private void AddSparse(ActivationBlock block, PromptItem item, long offset, double[] scratch, List<int> touched)
    {
        var codes = block.Sparse!;
        if (item.RowCount == 1)
        {
            for (int k = codes.Offsets[item.FirstRow]; k < codes.Offsets[item.FirstRow + 1]; k++)
            {
                double v = codes.Values[k];
                Sums[offset + codes.Indices[k]] += v;
                SumSquares[offset + codes.Indices[k]] += v * v;
            }
            return;
        }
        for (int r = item.FirstRow; r < item.FirstRow + item.RowCount; r++)
            for (int k = codes.Offsets[r]; k < codes.Offsets[r + 1]; k++)
            {
                int j = codes.Indices[k];
                if (scratch[j] == 0) touched.Add(j);
                scratch[j] += codes.Values[k];
            }
        foreach (int j in touched)
        {
            double v = scratch[j] / item.RowCount;
            Sums[offset + j] += v;
            SumSquares[offset + j] += v * v;
            scratch[j] = 0;
        }
        touched.Clear();
    }

    /// <summary>The statistics of the union of both partials' items. Both must have the same labels, in the same order, and width.</summary>
    public LabelStatistics Merge(LabelStatistics other)
    {
        if (other.Width != Width || !other.Labels.SequenceEqual(Labels, StringComparer.Ordinal))
            throw new ArgumentException($"cannot merge label statistics of width {Width} over [{string.Join(", ", Labels)}] with width {other.Width} over [{string.Join(", ", other.Labels)}]");
        var merged = new LabelStatistics(Labels, Width, Add(Counts, other.Counts), Add(Sums, other.Sums), Add(SumSquares, other.SumSquares))
        {
            Reduction = Reduction.Merge(other.Reduction),
            Unlabelled = Unlabelled + other.Unlabelled,
        };
        return merged;
    }

    public long Count(int label) => Counts[label];
    public long TotalCount => Counts.Sum();
    public ReadOnlySpan<double> SumsOf(int label) => Sums.AsSpan(label * Width, Width);
    public ReadOnlySpan<double> SquaresOf(int label) => SumSquares.AsSpan(label * Width, Width);

    /// <summary>Label <paramref name="label"/>'s mean of dimension <paramref name="j"/> (NaN without items).</summary>
    public double Mean(int label, int j) => Counts[label] == 0 ? double.NaN : Sums[(long)label * Width + j] / Counts[label];

    /// <summary>Unbiased (n − 1) variance of dimension <paramref name="j"/> within label <paramref name="label"/>; NaN below two items.</summary>
    public double Variance(int label, int j) => Moments.Variance(Counts[label], Sums[(long)label * Width + j], SumSquares[(long)label * Width + j]);

    /// <summary>The partial's sections (docs/partials.md): labels, width, counts, sums, sum_squares, reduction, unlabelled.</summary>
    public void Write(PartialWriter w)
    {
        w.Write("labels", Labels);
        w.Write("width", (long)Width);
        w.Write("counts", Counts);
        w.Write("sums", Sums);
        w.Write("sum_squares", SumSquares);
        w.Write("reduction", new[] { Reduction.Prompts, Reduction.Items, Reduction.WithoutMarker, Reduction.Empty });
        w.Write("unlabelled", Unlabelled);
    }

    public static LabelStatistics Read(PartialReader r)
    {
        var labels = r.ReadTexts("labels");
        long width = r.ReadInt64("width");
        var counts = r.ReadLongs("counts");
        var sums = r.ReadDoubles("sums");
        var squares = r.ReadDoubles("sum_squares");
        var reduction = r.ReadLongs("reduction");
        long unlabelled = r.ReadInt64("unlabelled");
        if (labels.Length == 0 || width < 1 || counts.Length != labels.Length || sums.Length != labels.Length * width
            || squares.Length != sums.Length || reduction.Length != 4)
            throw new InvalidDataException($"label statistics whose sections do not fit together ({labels.Length} labels, width {width}, {counts.Length} counts, {sums.Length} sums)");
        return new LabelStatistics(labels, (int)width, counts, sums, squares)
        {
            Reduction = new ReductionCounts(reduction[0], reduction[1], reduction[2], reduction[3]),
            Unlabelled = unlabelled,
        };
    }

    private static T[] Add<T>(T[] a, T[] b) where T : System.Numerics.INumber<T>
    {
        var sum = new T[a.Length];
        for (int i = 0; i < a.Length; i++) sum[i] = a[i] + b[i];
        return sum;
    }
}

/// <summary>Moments from raw sums.</summary>
internal static class Moments
{
    /// <summary>Unbiased variance (Σx² − (Σx)²/n)/(n − 1), clamped at 0 (rounding can push a constant's below); NaN below two items.</summary>
    public static double Variance(long n, double sum, double squares) =>
        n < 2 ? double.NaN : Math.Max(0, (squares - sum * sum / n) / (n - 1));
}
