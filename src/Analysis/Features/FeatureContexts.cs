using Sweep.Analysis.Matching;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Features;

/// <summary>How many tokens of context a kept example carries: <see cref="Before"/> before the token and <see cref="After"/> after it, within its sequence.</summary>
public sealed record ContextWindow(int Before = 16, int After = 4)
{
    public ContextWindow Checked() =>
        Before is >= 0 and <= 1024 && After is >= 0 and <= 1024 ? this
            : throw new ArgumentOutOfRangeException(nameof(Before), $"context window {Before} before / {After} after, expected 0..1024 each");
}

/// <summary>
/// A kept example of a feature firing: the token (<see cref="Seq"/>, <see cref="Pos"/>, id <see cref="Token"/>) with its
/// <see cref="Activation"/>, and its window — the tokens at positions <see cref="WindowStart"/> … within the same
/// sequence — with the feature's activation on each (0 where it does not fire), so a viewer can highlight them.
/// <see cref="Kind"/> is <c>top</c> (rank 1 = strongest) or <c>sample</c> (a seeded random sample of stratum
/// <see cref="Stratum"/>, rank 1 = lowest priority).
/// </summary>
public sealed record FeatureExample(
    int Feature, string Kind, int Rank, int? Stratum, float Activation, int Seq, int Pos, int Token,
    int WindowStart, int[] WindowTokens, float[] WindowActivations)
{
    public const string Top = "top";
    public const string Sample = "sample";

    /// <summary>Index of the example's own token in the window.</summary>
    public int Offset => Pos - WindowStart;
}

/// <summary>One kept firing with its window (the heap element of <see cref="TopContexts"/> and <see cref="IntervalSamples"/>).</summary>
internal readonly record struct Context(Activation Key, ulong Priority, int WindowStart, int[]? Tokens, float[]? Values)
{
    public int Seq => (int)(Key.Item >> 32);
    public int Pos => (int)(uint)Key.Item;

    public static Context Probe(float value, int token, long item, ulong priority = 0) => new(new Activation(value, token, item), priority, 0, null, null);

    /// <summary>The probe with the window of row <paramref name="row"/>: tokens and feature <paramref name="feature"/>'s values.</summary>
    public Context WithWindow(FeatureBlock block, int row, int feature, ContextWindow window)
    {
        var (start, end) = block.SequenceOf(row);
        int first = Math.Max(start, row - window.Before), last = Math.Min(end - 1, row + window.After);
        var tokens = new int[last - first + 1];
        var values = new float[tokens.Length];
        for (int r = first; r <= last; r++)
        {
            tokens[r - first] = block.Token[r];
            values[r - first] = block.Value(r, feature);
        }
        return this with { WindowStart = block.Pos[first], Tokens = tokens, Values = values };
    }
}

/// <summary>Per-slot heaps of <see cref="Context"/>s and their partial sections (slot by slot, strongest first, so equal sets give equal bytes).</summary>
internal static class ContextHeaps
{
    /// <summary>
    /// Sections, each name prefixed by <paramref name="prefix"/>: <c>count</c> (per slot, int32), then per kept example
    /// in slot order <c>value</c> (float32), <c>token</c> (int32), <c>item</c> (int64, (seq &lt;&lt; 32) | pos),
    /// <c>priority</c> (int64), <c>window_start</c>, <c>window_length</c> (int32), then the windows concatenated:
    /// <c>window_tokens</c> (int32), <c>window_values</c> (float32).
    /// </summary>
    public static void Write(PartialWriter w, string prefix, BoundedHeaps<Context> heaps)
    {
        var kept = new IReadOnlyList<Context>[heaps.Slots];
        for (int s = 0; s < kept.Length; s++) kept[s] = heaps.IsEmpty(s) ? [] : heaps.Of(s);
        int n = checked((int)heaps.Count);
        var (value, token, item, priority, start, length) = (new float[n], new int[n], new long[n], new long[n], new int[n], new int[n]);
        long windowTokens = 0;
        int at = 0;
        foreach (var slot in kept)
            foreach (var c in slot)
            {
                (value[at], token[at], item[at], priority[at]) = (c.Key.Value, c.Key.Token, c.Key.Item, unchecked((long)c.Priority));
                (start[at], length[at]) = (c.WindowStart, c.Tokens!.Length);
                windowTokens += c.Tokens.Length;
                at++;
            }
        w.Write(prefix + "count", kept.Select(k => k.Count).ToArray());
        w.Write(prefix + "value", value); w.Write(prefix + "token", token); w.Write(prefix + "item", item); w.Write(prefix + "priority", priority);
        w.Write(prefix + "window_start", start); w.Write(prefix + "window_length", length);
        // The windows are streamed from the examples, never gathered into one array.
        w.BeginArray<int>(prefix + "window_tokens", windowTokens);
        foreach (var slot in kept) foreach (var c in slot) w.Append<int>(c.Tokens!);
        w.BeginArray<float>(prefix + "window_values", windowTokens);
        foreach (var slot in kept) foreach (var c in slot) w.Append<float>(c.Values!);
    }

    public static BoundedHeaps<Context> Read(PartialReader r, string prefix, int slots, int k, IComparer<Context> order)
    {
        var heaps = new BoundedHeaps<Context>(slots, k, order);
        var counts = r.ReadInts(prefix + "count");
        var (value, token, item, priority) = (r.ReadFloats(prefix + "value"), r.ReadInts(prefix + "token"), r.ReadLongs(prefix + "item"), r.ReadLongs(prefix + "priority"));
        var (start, length) = (r.ReadInts(prefix + "window_start"), r.ReadInts(prefix + "window_length"));
        int n = value.Length;
        if (counts.Length != slots || counts.Any(c => c < 0 || c > k) || counts.Sum(c => (long)c) != n)
            throw new InvalidDataException($"{prefix}contexts: {counts.Length} slot counts for {slots} slots of at most {k} each, or not {n} examples in all");
        if (new[] { token.Length, item.Length, priority.Length, start.Length, length.Length }.Any(l => l != n) || length.Any(l => l < 1))
            throw new InvalidDataException($"{prefix}contexts: columns of different lengths, or an empty window");
        long total = length.Sum(l => (long)l);
        var windows = new (int[] Tokens, float[] Values)[n];
        if (r.BeginArray<int>(prefix + "window_tokens") != total) throw new InvalidDataException($"{prefix}contexts: the window tokens do not add up");
        for (int i = 0; i < n; i++) r.ReadInto<int>(windows[i].Tokens = new int[length[i]]);
        if (r.BeginArray<float>(prefix + "window_values") != total) throw new InvalidDataException($"{prefix}contexts: the window values do not add up");
        for (int i = 0; i < n; i++) r.ReadInto<float>(windows[i].Values = new float[length[i]]);
        int at = 0;
        for (int s = 0; s < slots; s++)
            for (int j = 0; j < counts[s]; j++, at++)
                heaps.Offer(s, new Context(new Activation(value[at], token[at], item[at]), unchecked((ulong)priority[at]), start[at], windows[at].Tokens, windows[at].Values));
        return heaps;
    }

    public static FeatureExample ToExample(Context c, int feature, string kind, int rank, int? stratum) =>
        new(feature, kind, rank, stratum, c.Key.Value, c.Seq, c.Pos, c.Key.Token, c.WindowStart, c.Tokens!, c.Values!);

    /// <summary>
    /// Offers every firing (value &gt; 0) of the block to <paramref name="slotOf"/>'s slot. A kept firing first holds only
    /// its row (in <see cref="Context.WindowStart"/>, with no window yet); once the whole block is offered, the firings
    /// still kept get their windows — so windows are built for the survivors of a block, not for every firing that
    /// passed through a heap.
    /// </summary>
    public static void Fold(BoundedHeaps<Context> heaps, FeatureBlock block, ContextWindow window,
        Func<int, float, long, int> slotOf, Func<int, long, ulong> priorityOf)
    {
        void Offer(int row, int feature, float value)
        {
            long item = block.Item(row);
            int slot = slotOf(feature, value, item);
            var probe = Context.Probe(value, block.Token[row], item, priorityOf(feature, item));
            if (heaps.Accepts(slot, probe)) heaps.Offer(slot, probe with { WindowStart = row });
        }
        if (block.Sparse is { } codes)
        {
            for (int r = 0; r < block.Rows; r++)
                for (int i = codes.Offsets[r]; i < codes.Offsets[r + 1]; i++)
                    if (codes.Values[i] > 0) Offer(r, codes.Indices[i], codes.Values[i]);
        }
        else
        {
            var dense = block.Dense!;
            for (int r = 0; r < block.Rows; r++)
                for (int f = 0; f < block.Width; f++)
                    if (dense[(long)r * block.Width + f] is var v and > 0) Offer(r, f, v);
        }
        int features = block.Width, strata = heaps.Slots / features;
        heaps.Update((slot, c) => c.Tokens is null ? c.WithWindow(block, c.WindowStart, slot / strata, window) : c);
    }
}

/// <summary>
/// Per feature its <see cref="K"/> strongest firings (top activating contexts) with their windows. Kept in
/// <see cref="BoundedHeaps{T}"/> under <see cref="Activation.Weaker"/> — larger activation first, ties to the earlier
/// token (smaller (seq, pos)) — so the kept examples do not depend on sharding or merge order. Memory:
/// at most width·k examples of window length ≤ before + 1 + after (about 200 bytes each with the default window).
/// </summary>
public sealed class TopContexts
{
    public const int DefaultK = 20;
    private static readonly IComparer<Context> Order = Comparer<Context>.Create((x, y) => Activation.Weaker.Compare(x.Key, y.Key));

    private readonly BoundedHeaps<Context> _heaps;
    public ContextWindow Window { get; }
    public int Width => _heaps.Slots;
    public int K => _heaps.K;

    public TopContexts(int width, int k = DefaultK, ContextWindow? window = null)
        : this(new BoundedHeaps<Context>(width, k, Order), (window ?? new ContextWindow()).Checked()) { }

    private TopContexts(BoundedHeaps<Context> heaps, ContextWindow window) { _heaps = heaps; Window = window; }

    /// <summary>Examples held (all features).</summary>
    public long Count => _heaps.Count;

    public void Fold(FeatureBlock block)
    {
        if (block.Width != Width) throw new ArgumentException($"a block of width {block.Width} folded into top contexts of width {Width}");
        ContextHeaps.Fold(_heaps, block, Window, (feature, _, _) => feature, (_, _) => 0);
    }

    public TopContexts Merge(TopContexts other)
    {
        if (other.Window != Window) throw new ArgumentException($"cannot merge top contexts with windows {Window} and {other.Window}");
        return new TopContexts(_heaps.Merge(other._heaps), Window);
    }

    /// <summary>Partial sections: <c>top_k</c>, <c>top_before</c>, <c>top_after</c>, then the heaps (<see cref="ContextHeaps.Write"/>, prefix <c>top_</c>).</summary>
    public void Write(PartialWriter w)
    {
        w.Write("top_k", K); w.Write("top_before", Window.Before); w.Write("top_after", Window.After);
        ContextHeaps.Write(w, "top_", _heaps);
    }

    /// <summary>Reads what <see cref="Write"/> wrote; the partial must have been made with these settings.</summary>
    public static TopContexts Read(PartialReader r, int width, int k, ContextWindow window)
    {
        var (storedK, before, after) = (r.ReadInt64("top_k"), r.ReadInt64("top_before"), r.ReadInt64("top_after"));
        if ((storedK, before, after) != (k, window.Before, window.After))
            throw new InvalidDataException($"top contexts of k {storedK}, window {before}/{after}, expected k {k}, window {window.Before}/{window.After}");
        return new TopContexts(ContextHeaps.Read(r, "top_", width, k, Order), window.Checked());
    }

    /// <summary>A feature's examples, strongest first (rank 1).</summary>
    public IReadOnlyList<FeatureExample> Finish(int feature) =>
        _heaps.Of(feature).Select((c, i) => ContextHeaps.ToExample(c, feature, FeatureExample.Top, i + 1, null)).ToList();
}

/// <summary>
/// A few seeded random examples per feature from every activation stratum it reaches — Sweep's mergeable form of
/// sae-dashboard's interval samples (which draw <c>quantile_group_size</c> = 5 uniformly random tokens from each of
/// <c>n_quantiles</c> = 10 equal-width intervals of [0, max]). The strata here are fixed instead, so partials merge
/// without knowing the max: half-decades of the activation (5 consecutive <see cref="ActivationHistogram"/> bins),
/// <code>
/// stratum 0        (0, 1e-6)
/// stratum s = 1..20 [10^(-6 + (s-1)/2), 10^(-6 + s/2))
/// stratum 21       [1e4, +inf)
/// </code>
/// Within a stratum the sample is the bottom-k of a seeded hash of (seed, feature, token id) — every firing equally
/// likely, and the sample of a union is the bottom-k of the samples' union, so merging is exact and order-free.
/// Memory: k examples per (feature, stratum reached), typically a handful of strata per feature.
/// </summary>
public sealed class IntervalSamples
{
    public const int Strata = 22;
    public const int DefaultPerStratum = 3;

    /// <summary>Lower priority wins; ties (never in practice) to the earlier token.</summary>
    private static readonly IComparer<Context> Order = Comparer<Context>.Create((x, y) =>
        x.Priority != y.Priority ? y.Priority.CompareTo(x.Priority) : x.Key.Item.CompareTo(y.Key.Item));

    private readonly BoundedHeaps<Context> _heaps;   // slot = feature · Strata + stratum
    public ContextWindow Window { get; }
    public int Seed { get; }
    public int Width => _heaps.Slots / Strata;
    public int PerStratum => _heaps.K;

    public IntervalSamples(int width, int perStratum = DefaultPerStratum, int seed = 0, ContextWindow? window = null)
        : this(new BoundedHeaps<Context>(checked(width * Strata), perStratum, Order), (window ?? new ContextWindow()).Checked(), seed) { }

    private IntervalSamples(BoundedHeaps<Context> heaps, ContextWindow window, int seed) { _heaps = heaps; Window = window; Seed = seed; }

    public long Count => _heaps.Count;

    public static int StratumOf(int bin) => bin == 0 ? 0 : bin == ActivationHistogram.Bins - 1 ? Strata - 1 : (bin - 1) / 5 + 1;
    public static double Lower(int stratum) => stratum == 0 ? 0.0 : ActivationHistogram.Lower(stratum == Strata - 1 ? ActivationHistogram.Bins - 1 : 5 * (stratum - 1) + 1);
    public static double Upper(int stratum) => stratum == Strata - 1 ? double.PositiveInfinity : ActivationHistogram.Upper(stratum == 0 ? 0 : 5 * stratum);

    /// <summary>SplitMix64 of (seed, feature, item): a fixed pseudo-random priority per firing.</summary>
    public static ulong Priority(int seed, int feature, long item)
    {
        ulong z = (ulong)item * 0x9E3779B97F4A7C15UL ^ ((ulong)(uint)feature + 1) * 0xC2B2AE3D27D4EB4FUL ^ ((ulong)(uint)seed + 1) * 0x165667B19E3779F9UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public void Fold(FeatureBlock block)
    {
        if (block.Width != Width) throw new ArgumentException($"a block of width {block.Width} folded into interval samples of width {Width}");
        ContextHeaps.Fold(_heaps, block, Window, (feature, value, _) => feature * Strata + StratumOf(ActivationHistogram.BinOf(value)),
            (feature, item) => Priority(Seed, feature, item));
    }

    public IntervalSamples Merge(IntervalSamples other)
    {
        if (other.Window != Window || other.Seed != Seed) throw new ArgumentException("cannot merge interval samples of different windows or seeds");
        return new IntervalSamples(_heaps.Merge(other._heaps), Window, Seed);
    }

    /// <summary>Partial sections: <c>sample_k</c>, <c>sample_before</c>, <c>sample_after</c>, <c>sample_seed</c>, then the heaps (prefix <c>sample_</c>, slot = feature · 22 + stratum).</summary>
    public void Write(PartialWriter w)
    {
        w.Write("sample_k", PerStratum); w.Write("sample_before", Window.Before); w.Write("sample_after", Window.After); w.Write("sample_seed", Seed);
        ContextHeaps.Write(w, "sample_", _heaps);
    }

    /// <summary>Reads what <see cref="Write"/> wrote; the partial must have been made with these settings.</summary>
    public static IntervalSamples Read(PartialReader r, int width, int perStratum, int seed, ContextWindow window)
    {
        var (k, before, after, storedSeed) = (r.ReadInt64("sample_k"), r.ReadInt64("sample_before"), r.ReadInt64("sample_after"), r.ReadInt64("sample_seed"));
        if ((k, before, after, storedSeed) != (perStratum, window.Before, window.After, seed))
            throw new InvalidDataException($"interval samples of k {k}, window {before}/{after}, seed {storedSeed}, expected {perStratum}, {window.Before}/{window.After}, {seed}");
        return new IntervalSamples(ContextHeaps.Read(r, "sample_", checked(width * Strata), perStratum, Order), window.Checked(), seed);
    }

    /// <summary>A feature's samples, lowest stratum first, each stratum in priority order (rank 1, 2, …).</summary>
    public IReadOnlyList<FeatureExample> Finish(int feature) =>
        Enumerable.Range(0, Strata).SelectMany(s => _heaps.Of(feature * Strata + s)
            .Select((c, i) => ContextHeaps.ToExample(c, feature, FeatureExample.Sample, i + 1, s))).ToList();
}
