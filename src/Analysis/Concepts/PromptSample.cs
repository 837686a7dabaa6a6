using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Concepts;

/// <summary>
/// A seeded, bounded, mergeable sample of reduced prompt vectors with their labels (for the PCA of prompts): every item
/// gets a pseudo-random priority from (seed, item id) — SplitMix64, as <see cref="Sampling.ItemSample"/> — and the sample
/// keeps the <see cref="Capacity"/> items of lowest priority (a bottom-k sketch). The kept set depends only on the seed
/// and the set of item ids, never on shard boundaries or merge order, and merging two samples gives the sample of the
/// union. Vectors are kept in float64, densely (dense sites) or as their non-zero entries (SAE codes).
/// Only items whose sequence has a label take part.
/// </summary>
public sealed class PromptSample
{
    private readonly SortedDictionary<(ulong Priority, long Id), Entry> _items = new();

    private sealed record Entry(int Label, int[]? Indices, double[] Values);

    public int Capacity { get; }
    public int Seed { get; }
    public int Width { get; }
    public IReadOnlyList<string> Labels { get; }
    public int Count => _items.Count;

    public PromptSample(IReadOnlyList<string> labels, int width, int capacity, int seed)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "expected a capacity of at least 1");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "expected a positive width");
        Labels = [.. labels]; Width = width; Capacity = capacity; Seed = seed;
    }

    /// <summary>Reduces the block's prompts and offers every labelled item.</summary>
    public static PromptSample FromBlock(ActivationBlock block, LabelIndex labels, ReductionOptions reduction, int capacity, int seed)
    {
        var sample = new PromptSample(labels.Names, block.Width, capacity, seed);
        var (items, _) = PromptReduction.Items(block, reduction);
        var vector = new double[block.Width];
        foreach (var item in items)
        {
            int label = labels.Of(item.Seq);
            if (label < 0) continue;
            var key = (Priority(item.Id, seed), item.Id);
            if (sample._items.Count == capacity && key.CompareTo(sample._items.Keys.Last()) >= 0) continue;
            PromptReduction.Vector(block, item, vector);
            sample.Put(key, block.Sparse is null ? new Entry(label, null, [.. vector]) : Sparse(label, vector));
        }
        return sample;
    }

    public PromptSample Merge(PromptSample other)
    {
        if (other.Capacity != Capacity || other.Seed != Seed || other.Width != Width || !other.Labels.SequenceEqual(Labels, StringComparer.Ordinal))
            throw new ArgumentException("cannot merge prompt samples of different capacity, seed, width or labels");
        var merged = new PromptSample(Labels, Width, Capacity, Seed);
        foreach (var source in new[] { this, other })
            foreach (var (key, entry) in source._items) merged.Put(key, entry);
        return merged;
    }

    /// <summary>The sampled items in priority order: their ids, label indices and vectors as a matrix [items × width].</summary>
    public (long[] Ids, int[] Labels, DenseMatrix Vectors) ToMatrix()
    {
        var ids = new long[_items.Count];
        var labels = new int[_items.Count];
        var data = new double[(long)_items.Count * Width];
        int r = 0;
        foreach (var ((_, id), entry) in _items)
        {
            ids[r] = id;
            labels[r] = entry.Label;
            var row = data.AsSpan(r * Width, Width);
            if (entry.Indices is null) entry.Values.CopyTo(row);
            else for (int k = 0; k < entry.Indices.Length; k++) row[entry.Indices[k]] = entry.Values[k];
            r++;
        }
        return (ids, labels, new DenseMatrix(_items.Count, Width, data));
    }

    /// <summary>
    /// The partial's sections (docs/partials.md): labels, width, capacity, seed, ids, item_labels, sparse (0 or 1), then
    /// for dense vectors values [items × width], for sparse ones offsets, indices and values (CSR).
    /// </summary>
    public void Write(PartialWriter w)
    {
        var entries = _items.ToList();
        bool sparse = entries.Count > 0 && entries[0].Value.Indices is not null;
        if (entries.Any(e => e.Value.Indices is not null != sparse)) throw new InvalidOperationException("a prompt sample mixes dense and sparse vectors");
        w.Write("labels", Labels);
        w.Write("width", (long)Width);
        w.Write("capacity", (long)Capacity);
        w.Write("seed", (long)Seed);
        w.Write("ids", entries.Select(e => e.Key.Id).ToArray());
        w.Write("item_labels", entries.Select(e => e.Value.Label).ToArray());
        w.Write("sparse", sparse ? 1L : 0L);
        if (sparse)
        {
            var offsets = new int[entries.Count + 1];
            for (int i = 0; i < entries.Count; i++) offsets[i + 1] = offsets[i] + entries[i].Value.Indices!.Length;
            w.Write("offsets", offsets);
            w.Write("indices", entries.SelectMany(e => e.Value.Indices!).ToArray());
        }
        w.BeginArray<double>("values", entries.Sum(e => (long)e.Value.Values.Length));
        foreach (var e in entries) w.Append<double>(e.Value.Values);
    }

    public static PromptSample Read(PartialReader r)
    {
        var sample = new PromptSample(r.ReadTexts("labels"), (int)r.ReadInt64("width"), (int)r.ReadInt64("capacity"), (int)r.ReadInt64("seed"));
        var ids = r.ReadLongs("ids");
        var itemLabels = r.ReadInts("item_labels");
        bool sparse = r.ReadInt64("sparse") == 1;
        var offsets = sparse ? r.ReadInts("offsets") : null;
        var indices = sparse ? r.ReadInts("indices") : null;
        var values = r.ReadDoubles("values");
        if (itemLabels.Length != ids.Length || ids.Length > sample.Capacity
            || (sparse ? offsets!.Length != ids.Length + 1 || offsets[^1] != values.Length || indices!.Length != values.Length : values.Length != (long)ids.Length * sample.Width))
            throw new InvalidDataException("a prompt sample whose sections do not fit together");
        for (int i = 0; i < ids.Length; i++)
        {
            if (itemLabels[i] < 0 || itemLabels[i] >= sample.Labels.Count) throw new InvalidDataException($"item label {itemLabels[i]} outside the labels");
            var entry = sparse
                ? new Entry(itemLabels[i], indices![offsets![i]..offsets[i + 1]], values[offsets[i]..offsets[i + 1]])
                : new Entry(itemLabels[i], null, values[(i * sample.Width)..((i + 1) * sample.Width)]);
            sample.Put((Priority(ids[i], sample.Seed), ids[i]), entry);
        }
        return sample;
    }

    private void Put((ulong Priority, long Id) key, Entry entry)
    {
        _items[key] = entry;
        if (_items.Count > Capacity) _items.Remove(_items.Keys.Last());
    }

    private static Entry Sparse(int label, double[] vector)
    {
        var indices = new List<int>();
        for (int j = 0; j < vector.Length; j++) if (vector[j] != 0) indices.Add(j);
        return new Entry(label, [.. indices], [.. indices.Select(j => vector[j])]);
    }

    /// <summary>SplitMix64 of the seeded id: a fixed, well-mixed permutation of ids.</summary>
    private static ulong Priority(long id, int seed)
    {
        ulong z = (ulong)id + 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
