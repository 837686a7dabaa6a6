using System.Runtime.CompilerServices;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Features;

/// <summary>A non-empty bin of a feature's histogram: values in [<see cref="Lower"/>, <see cref="Upper"/>).</summary>
public readonly record struct HistogramBin(int Bin, double Lower, double Upper, long Count);

/// <summary>
/// Per feature, how many firing values (&gt; 0) fall in each of fixed log-spaced bins, mergeable by adding counts.
/// The bins are the same for every feature, site and run, so histograms add across shards and compare across SAEs:
/// <code>
/// bin 0            (0, 1e-6)
/// bin b = 1..100   [10^(-6 + (b-1)/10), 10^(-6 + b/10))     ten per decade from 1e-6 to 1e4
/// bin 101          [1e4, +inf)
/// </code>
/// (<see cref="Lower"/>/<see cref="Upper"/> give the edges; a value is placed by comparison with those float64
/// edges, not by a logarithm, so a value on an edge is placed the same way everywhere.)
/// </summary>
public sealed class ActivationHistogram
{
    public const int BinsPerDecade = 10;
    public const int LowestExponent = -6;
    public const int HighestExponent = 4;
    /// <summary>Number of bins: the log bins plus one below and one above.</summary>
    public const int Bins = (HighestExponent - LowestExponent) * BinsPerDecade + 2;

    /// <summary>Edges[i] = 10^(LowestExponent + i/BinsPerDecade), i = 0 .. Bins-2: the lower edge of bin i + 1.</summary>
    private static readonly double[] Edges = Enumerable.Range(0, Bins - 1)
        .Select(i => Math.Pow(10, LowestExponent + (double)i / BinsPerDecade)).ToArray();

    public static double Lower(int bin) => bin == 0 ? 0.0 : Edges[bin - 1];
    public static double Upper(int bin) => bin == Bins - 1 ? double.PositiveInfinity : Edges[bin];

    /// <summary>The bin of a value &gt; 0.</summary>
    public static int BinOf(double value)
    {
        // Number of edges <= value: 0 below the first edge, Bins - 1 at or above the last.
        int i = Array.BinarySearch(Edges, value);
        return i >= 0 ? i + 1 : ~i;
    }

    public int Width { get; }
    private readonly long[] _counts;   // [feature, bin]

    public ActivationHistogram(int width)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "a site has at least one feature");
        Width = width;
        _counts = new long[(long)width * Bins];
    }

    private ActivationHistogram(int width, long[] counts) { Width = width; _counts = counts; }

    public long Count(int feature, int bin) => _counts[(long)feature * Bins + bin];

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fold(FeatureBlock block)
    {
        if (block.Width != Width) throw new ArgumentException($"a block of width {block.Width} folded into a histogram of width {Width}");
        if (block.Sparse is { } codes)
        {
            for (int i = 0; i < codes.Indices.Length; i++)
                if (codes.Values[i] > 0) _counts[(long)codes.Indices[i] * Bins + BinOf(codes.Values[i])]++;
            return;
        }
        var dense = block.Dense!;
        for (long i = 0; i < dense.Length; i++)
            if (dense[i] > 0) _counts[i % Width * Bins + BinOf(dense[i])]++;
    }

    public ActivationHistogram Merge(ActivationHistogram other)
    {
        if (other.Width != Width) throw new ArgumentException($"cannot merge histograms of widths {Width} and {other.Width}");
        var counts = new long[_counts.Length];
        for (long i = 0; i < counts.Length; i++) counts[i] = _counts[i] + other._counts[i];
        return new ActivationHistogram(Width, counts);
    }

    /// <summary>Partial section <c>histogram</c>: the counts, feature by feature, <see cref="Bins"/> each.</summary>
    public void Write(PartialWriter w) => w.Write("histogram", _counts);

    public static ActivationHistogram Read(int width, PartialReader r)
    {
        var counts = r.ReadLongs("histogram");
        if (counts.Length != (long)width * Bins) throw new InvalidDataException($"histogram has {counts.Length} counts, expected {width} x {Bins}");
        return new ActivationHistogram(width, counts);
    }

    /// <summary>A feature's non-empty bins, in bin order.</summary>
    public IReadOnlyList<HistogramBin> Finish(int feature)
    {
        var bins = new List<HistogramBin>();
        for (int b = 0; b < Bins; b++)
            if (Count(feature, b) is var c and > 0) bins.Add(new HistogramBin(b, Lower(b), Upper(b), c));
        return bins;
    }
}
