using System.Runtime.CompilerServices;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Features;

/// <summary>One feature's statistics over the tokens of a site. <see cref="MeanWhenActive"/> is null when it never fired.</summary>
public sealed record FeatureStat(int Feature, long Tokens, long Fired, double Frequency, double Mean, double Max, double? MeanWhenActive);

/// <summary>
/// Per-feature statistics of one site, mergeable. Conventions: a feature <b>fires</b> on a token where its value is
/// &gt; 0 (SAE codes are non-negative, a code not stored is 0; a dense unit may be negative).
/// <list type="bullet">
/// <item>fired: tokens where it fires; frequency = fired / tokens;</item>
/// <item>mean: Σ value / tokens over every token (zeros and negatives included);</item>
/// <item>max: the largest value over every token (0 for SAE codes that never fire; may be negative for a dense unit);</item>
/// <item>mean when active: Σ value / fired over the tokens where it fires (null when it never does).</item>
/// </list>
/// Sums are float64; <see cref="Merge"/> adds counts and sums and takes maxima, so it is associative and commutative
/// (up to float64 rounding of the sums).
/// </summary>
public sealed class FeatureStatistics
{
    public int Width { get; }
    public long Tokens { get; private set; }
    private readonly long[] _fired;
    private readonly double[] _sum, _sumActive, _max;

    public FeatureStatistics(int width)
    {
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "a site has at least one feature");
        Width = width;
        _fired = new long[width];
        _sum = new double[width];
        _sumActive = new double[width];
        _max = new double[width];
        Array.Fill(_max, double.NegativeInfinity);
    }

    private FeatureStatistics(int width, long tokens, long[] fired, double[] sum, double[] sumActive, double[] max)
    {
        Width = width; Tokens = tokens; _fired = fired; _sum = sum; _sumActive = sumActive; _max = max;
    }

    public static FeatureStatistics Of(FeatureBlock block)
    {
        var stats = new FeatureStatistics(block.Width);
        stats.Fold(block);
        return stats;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Fold(FeatureBlock block)
    {
        if (block.Width != Width) throw new ArgumentException($"a block of width {block.Width} folded into statistics of width {Width}");
        if (block.Rows == 0) return;
        Tokens += block.Rows;
        if (block.Sparse is { } codes)
        {
            // Every value is >= 0 and a code not stored is 0, so 0 is a lower bound of every feature's max.
            for (int f = 0; f < Width; f++) _max[f] = Math.Max(_max[f], 0.0);
            for (int i = 0; i < codes.Indices.Length; i++)
            {
                int f = codes.Indices[i];
                double v = codes.Values[i];
                if (v <= 0) continue;
                _fired[f]++;
                _sum[f] += v;
                _sumActive[f] += v;
                if (v > _max[f]) _max[f] = v;
            }
            return;
        }
        var dense = block.Dense!;
        for (int r = 0; r < block.Rows; r++)
        {
            var row = dense.AsSpan(r * Width, Width);
            for (int f = 0; f < Width; f++)
            {
                double v = row[f];
                _sum[f] += v;
                if (v > _max[f]) _max[f] = v;
                if (v > 0) { _fired[f]++; _sumActive[f] += v; }
            }
        }
    }

    public FeatureStatistics Merge(FeatureStatistics other)
    {
        if (other.Width != Width) throw new ArgumentException($"cannot merge feature statistics of widths {Width} and {other.Width}");
        var fired = new long[Width];
        var sum = new double[Width];
        var sumActive = new double[Width];
        var max = new double[Width];
        for (int f = 0; f < Width; f++)
        {
            fired[f] = _fired[f] + other._fired[f];
            sum[f] = _sum[f] + other._sum[f];
            sumActive[f] = _sumActive[f] + other._sumActive[f];
            max[f] = Math.Max(_max[f], other._max[f]);
        }
        return new FeatureStatistics(Width, Tokens + other.Tokens, fired, sum, sumActive, max);
    }

    /// <summary>Partial sections: <c>tokens</c>, then per feature <c>fired</c>, <c>sum</c>, <c>sum_active</c>, <c>max</c> (−∞ before any token).</summary>
    public void Write(PartialWriter w)
    {
        w.Write("tokens", Tokens);
        w.Write("fired", _fired); w.Write("sum", _sum); w.Write("sum_active", _sumActive); w.Write("max", _max);
    }

    public static FeatureStatistics Read(int width, PartialReader r)
    {
        long tokens = r.ReadInt64("tokens");
        var (fired, sum, sumActive, max) = (r.ReadLongs("fired"), r.ReadDoubles("sum"), r.ReadDoubles("sum_active"), r.ReadDoubles("max"));
        if (fired.Length != width || sum.Length != width || sumActive.Length != width || max.Length != width)
            throw new InvalidDataException($"feature statistics: arrays do not all have width {width}");
        return new FeatureStatistics(width, tokens, fired, sum, sumActive, max);
    }

    /// <summary>One record per feature, in feature order. Needs at least one token.</summary>
    public IReadOnlyList<FeatureStat> Finish()
    {
        if (Tokens == 0) throw new InvalidOperationException("feature statistics over no tokens");
        var stats = new FeatureStat[Width];
        for (int f = 0; f < Width; f++)
            stats[f] = new FeatureStat(f, Tokens, _fired[f], (double)_fired[f] / Tokens, _sum[f] / Tokens, _max[f],
                _fired[f] == 0 ? null : _sumActive[f] / _fired[f]);
        return stats;
    }
}
