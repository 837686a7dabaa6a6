using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Sampling;

/// <summary>
/// A seeded, bounded sample of aligned rows (items) for measures that need all rows at once (RSA, kNN):
/// every item gets a pseudo-random priority from (seed, item id) and the sample keeps the
/// <see cref="Capacity"/> items of lowest priority (a bottom-k sketch). The kept set depends only on the
/// seed and the set of item ids, never on shard boundaries or merge order, and merging two samples
/// gives the sample of the union. Rows come out in priority order.
/// </summary>
public sealed class ItemSample
{
    private readonly SortedDictionary<(ulong Priority, long Id), (double[] X, double[] Y)> _items = new();

    public int Capacity { get; }
    public int Seed { get; }
    public int Count => _items.Count;

    public ItemSample(int capacity, int seed)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity));
        Capacity = capacity; Seed = seed;
    }

    public void Offer(long id, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        var key = (Priority(id), id);
        if (_items.Count == Capacity && key.CompareTo(_items.Keys.Last()) >= 0) return;
        _items[key] = (ToDoubles(x), ToDoubles(y));
        if (_items.Count > Capacity) _items.Remove(_items.Keys.Last());
    }

    /// <summary>The kept items, lowest priority first: ids and rows (a sample is rebuilt from them with <see cref="Keep"/>).</summary>
    public IEnumerable<(long Id, double[] X, double[] Y)> Items => _items.Select(kv => (kv.Key.Id, kv.Value.X, kv.Value.Y));

    /// <summary>Offers an item whose rows are already float64 (a sample read back from its parts).</summary>
    public void Keep(long id, double[] x, double[] y)
    {
        var key = (Priority(id), id);
        if (_items.Count == Capacity && key.CompareTo(_items.Keys.Last()) >= 0) return;
        _items[key] = (x, y);
        if (_items.Count > Capacity) _items.Remove(_items.Keys.Last());
    }

    public ItemSample Merge(ItemSample other)
    {
        if (other.Capacity != Capacity || other.Seed != Seed) throw new ArgumentException("cannot merge samples of different capacity or seed");
        var merged = new ItemSample(Capacity, Seed);
        foreach (var source in new[] { this, other })
            foreach (var (key, rows) in source._items)
            {
                merged._items[key] = rows;
                if (merged._items.Count > Capacity) merged._items.Remove(merged._items.Keys.Last());
            }
        return merged;
    }

    public (DenseMatrix X, DenseMatrix Y) ToMatrices()
    {
        if (_items.Count == 0) throw new InvalidOperationException("the sample is empty");
        var first = _items.Values.First();
        int dx = first.X.Length, dy = first.Y.Length;
        var x = new double[_items.Count * dx];
        var y = new double[_items.Count * dy];
        int r = 0;
        foreach (var (rowX, rowY) in _items.Values)
        {
            rowX.CopyTo(x, r * dx);
            rowY.CopyTo(y, r * dy);
            r++;
        }
        return (new DenseMatrix(_items.Count, dx, x), new DenseMatrix(_items.Count, dy, y));
    }

    /// <summary>SplitMix64 of the seeded id: a fixed, well-mixed permutation of ids.</summary>
    private ulong Priority(long id)
    {
        ulong z = (ulong)id + 0x9E3779B97F4A7C15UL * (ulong)(Seed + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static double[] ToDoubles(ReadOnlySpan<float> v)
    {
        var d = new double[v.Length];
        for (int i = 0; i < d.Length; i++) d[i] = v[i];
        return d;
    }
}
