using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Measures;

/// <summary>
/// Partial of the measures computed from second moments: n, column sums, XᵀX, YᵀY, XᵀY in float64
/// (<see cref="DensePairStatistics"/>), the row-norm moments when the unbiased CKA estimator needs them, and the
/// number of blocks folded. Merging adds everything.
/// </summary>
public sealed class DenseMoments(DensePairStatistics stats, RowNormMoments? norms, long blocks) : IPartial
{
    public DensePairStatistics Stats { get; } = stats;
    public RowNormMoments? Norms { get; } = norms;
    public long Blocks { get; } = blocks;
}

/// <summary>
/// What CKA, unbiased CKA, SVCCA, PWCCA and Procrustes share: every block of aligned dense rows is folded into
/// <see cref="DenseMoments"/> (one float64 GEMM per block), partials merge by addition, and the measure's own
/// <see cref="Value"/> turns the final moments into its value. Rows are items (tokens), columns are units; every side is
/// centred over the tokens. Params of every row: <c>blocks</c> (blocks folded), <c>centred</c>, plus the measure's own.
/// </summary>
public abstract class DenseMomentsMeasure<P> : Measure<P, DenseMoments> where P : MeasureParameters
{
    public sealed override SiteData Data => SiteData.Dense;
    public sealed override Arity Arity => Arity.Pair;

    /// <summary>Whether the partial also carries <see cref="RowNormMoments"/>.</summary>
    protected virtual bool WithNorms => false;

    /// <summary>The measure's value from the final moments: stored measure name, value, and params beyond blocks/centred.</summary>
    protected abstract (string Measure, Measurement Value, Dictionary<string, object> Parameters) Value(P parameters, DenseMoments moments);

    public sealed override long PartialBytes(P parameters, MeasureShape shape)
    {
        long a = shape.WidthA, b = shape.RequireWidthB;
        return 8 * (a * a + b * b + a * b + a + b) + (WithNorms ? 16 * (a + b) : 0);
    }

    public sealed override DenseMoments Fold(P parameters, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        int wa = shape.WidthA, wb = shape.RequireWidthB;
        DensePairStatistics? stats = null;
        RowNormMoments? norms = null;
        long count = 0;
        foreach (var block in blocks())
        {
            float[] x = block.A.DenseValues, y = block.RequireB.DenseValues;
            var part = DensePairStatistics.FromRows(x, y, block.Rows, wa, wb);
            stats = stats is null ? part : stats.Merge(part);
            if (WithNorms)
            {
                var n = RowNormMoments.FromRows(x, y, block.Rows, wa, wb);
                norms = norms is null ? n : norms.Merge(n);
            }
            count++;
        }
        if (stats is null) throw new ArgumentException("no rows to compare");
        return new DenseMoments(stats, norms, count);
    }

    public sealed override DenseMoments Merge(P parameters, DenseMoments a, DenseMoments b) =>
        new(a.Stats.Merge(b.Stats), a.Norms is null || b.Norms is null ? null : a.Norms.Merge(b.Norms), a.Blocks + b.Blocks);

    public sealed override MeasureResult Finish(P parameters, MeasureShape shape, IEnumerable<DenseMoments> pieces, SideInputs side)
    {
        var moments = pieces.Single();
        var (measure, value, extra) = Value(parameters, moments);
        var p = new Dictionary<string, object> { ["blocks"] = moments.Blocks, ["centred"] = true };
        foreach (var (k, v) in extra) p[k] = v;
        return new MeasureResult([new MeasureValue(measure, value, moments.Stats.Count, p)]);
    }

    public sealed override void Write(DenseMoments partial, PartialWriter w)
    {
        var s = partial.Stats;
        w.Write("count", s.Count);
        w.Write("blocks", partial.Blocks);
        w.Write("sum_x", s.SumX); w.Write("sum_y", s.SumY);
        w.Write("xtx", s.XtX); w.Write("yty", s.YtY); w.Write("xty", s.XtY);
        w.Write("norms", partial.Norms is null ? 0L : 1L);
        if (partial.Norms is { } n)
        {
            w.Write("norm_count", n.Count);
            w.Write("norm_sums", [n.SumA, n.SumB, n.SumAA, n.SumBB, n.SumAB]);
            w.Write("sum_ax", n.SumAX); w.Write("sum_bx", n.SumBX); w.Write("sum_ay", n.SumAY); w.Write("sum_by", n.SumBY);
        }
    }

    public sealed override DenseMoments Read(P parameters, MeasureShape shape, int piece, PartialReader r)
    {
        long count = r.ReadInt64("count");
        long blocks = r.ReadInt64("blocks");
        var stats = DensePairStatistics.FromParts(shape.WidthA, shape.RequireWidthB, count,
            r.ReadDoubles("sum_x"), r.ReadDoubles("sum_y"), r.ReadDoubles("xtx"), r.ReadDoubles("yty"), r.ReadDoubles("xty"));
        RowNormMoments? norms = null;
        if (r.ReadInt64("norms") == 1)
        {
            long n = r.ReadInt64("norm_count");
            var sums = r.ReadDoubles("norm_sums");
            norms = RowNormMoments.FromParts(n, sums[0], sums[1], sums[2], sums[3], sums[4],
                r.ReadDoubles("sum_ax"), r.ReadDoubles("sum_bx"), r.ReadDoubles("sum_ay"), r.ReadDoubles("sum_by"));
        }
        return new DenseMoments(stats, norms, blocks);
    }
}
