using Sweep.Analysis.Linear;
using Sweep.Analysis.Sampling;

namespace Sweep.Analysis.Measures;

/// <summary>Partial of the sampled measures: the seeded bottom-k item sample so far and how many tokens it was drawn from.</summary>
public sealed class SampledItems(ItemSample sample, long tokens) : IPartial
{
    public ItemSample Sample { get; } = sample;
    public long Tokens { get; } = tokens;
}

/// <summary>
/// What RSA and kNN share: they need all rows at once, so they run on a seeded sample of at most <c>max_items</c>
/// tokens (<see cref="ItemSample"/>: each token's corpus-wide (sequence, position) gets a pseudo-random priority from
/// the seed and the lowest priorities are kept), which is the same sample however the corpus is split into ranges and
/// merged. Params of every row: <c>max_items</c>, <c>seed</c>, <c>items</c> (sample size), <c>tokens</c> (tokens offered).
/// </summary>
public abstract class SampleMeasure<P> : Measure<P, SampledItems> where P : MeasureParameters
{
    public sealed override SiteData Data => SiteData.Dense;
    public sealed override Arity Arity => Arity.Pair;

    protected abstract int MaxItems(P parameters);
    protected abstract int Seed(P parameters);

    /// <summary>The measure's values on the sampled rows (items x units of each side).</summary>
    protected abstract IReadOnlyList<MeasureValue> Values(P parameters, DenseMatrix x, DenseMatrix y, Dictionary<string, object> common);

    public sealed override long PartialBytes(P parameters, MeasureShape shape) => 8L * MaxItems(parameters) * (shape.WidthA + shape.RequireWidthB + 1);

    public sealed override SampledItems Fold(P parameters, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        var sample = new ItemSample(MaxItems(parameters), Seed(parameters));
        long tokens = 0;
        int dx = shape.WidthA, dy = shape.RequireWidthB;
        foreach (var b in blocks())
        {
            float[] x = b.A.DenseValues, y = b.RequireB.DenseValues;
            for (int r = 0; r < b.Rows; r++) sample.Offer(b.Tokens.Item(r), x.AsSpan(r * dx, dx), y.AsSpan(r * dy, dy));
            tokens += b.Rows;
        }
        return new SampledItems(sample, tokens);
    }

    public sealed override SampledItems Merge(P parameters, SampledItems a, SampledItems b) => new(a.Sample.Merge(b.Sample), a.Tokens + b.Tokens);

    public sealed override MeasureResult Finish(P parameters, MeasureShape shape, IEnumerable<SampledItems> pieces, SideInputs side)
    {
        var items = pieces.Single();
        if (items.Sample.Count < 3) throw new ArgumentException("RSA and kNN need at least 3 items");
        var (x, y) = items.Sample.ToMatrices();
        var common = new Dictionary<string, object>
        {
            ["max_items"] = MaxItems(parameters), ["seed"] = Seed(parameters), ["items"] = x.Rows, ["tokens"] = items.Tokens,
        };
        return new MeasureResult(Values(parameters, x, y, common));
    }

    public sealed override void Write(SampledItems partial, PartialWriter w)
    {
        var items = partial.Sample.Items.ToList();
        w.Write("tokens", partial.Tokens);
        w.Write("ids", items.Select(i => i.Id).ToArray());
        w.BeginArray<double>("x", items.Sum(i => (long)i.X.Length));
        foreach (var item in items) w.Append<double>(item.X);
        w.BeginArray<double>("y", items.Sum(i => (long)i.Y.Length));
        foreach (var item in items) w.Append<double>(item.Y);
    }

    public sealed override SampledItems Read(P parameters, MeasureShape shape, int piece, PartialReader r)
    {
        long tokens = r.ReadInt64("tokens");
        var ids = r.ReadLongs("ids");
        double[] x = r.ReadDoubles("x"), y = r.ReadDoubles("y");
        int dx = shape.WidthA, dy = shape.RequireWidthB;
        if (x.Length != ids.Length * dx || y.Length != ids.Length * dy) throw new InvalidDataException("item sample rows do not match its widths");
        var sample = new ItemSample(MaxItems(parameters), Seed(parameters));
        for (int i = 0; i < ids.Length; i++) sample.Keep(ids[i], x[(i * dx)..((i + 1) * dx)], y[(i * dy)..((i + 1) * dy)]);
        return new SampledItems(sample, tokens);
    }
}
