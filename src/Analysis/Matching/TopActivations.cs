namespace Sweep.Analysis.Matching;

/// <summary>One activation of a feature: its value, the token it fired on and the token's corpus-wide id (sequence, position).</summary>
public readonly record struct Activation(float Value, int Token, long Item)
{
    /// <summary>
    /// The order of strength: larger value first, ties to the smaller item id. As a "weaker" comparer (x &lt; y when x is
    /// weaker), so a min-heap under it keeps the strongest. A total order on distinct items: which activations are kept
    /// never depends on how the tokens were split into blocks or in which order partials are merged.
    /// </summary>
    public static Comparer<Activation> Weaker { get; } = Comparer<Activation>.Create((x, y) =>
        x.Value != y.Value ? x.Value.CompareTo(y.Value) : y.Item.CompareTo(x.Item));

    /// <summary>The corpus-wide id of a token: sequence in the high 32 bits, position in the low 32.</summary>
    public static long ItemOf(int seq, int pos) => ((long)seq << 32) | (uint)pos;
}

/// <summary>
/// Per slot (a feature, or a feature and a bin) the <see cref="K"/> greatest elements under a total order, kept in
/// bounded min-heaps (memory slots·k; a slot's heap exists only once something was offered to it). Under a total
/// order the kept set is the same whatever the order of the offers and merges.
/// </summary>
/// <param name="weaker">x &lt; y when x is the weaker of the two; must be a total order on the elements offered.</param>
public sealed class BoundedHeaps<T>(int slots, int k, IComparer<T> weaker)
{
    private readonly PriorityQueue<T, T>?[] _heaps = k >= 1 ? new PriorityQueue<T, T>?[slots]
        : throw new ArgumentOutOfRangeException(nameof(k), k, "at least one element per slot");

    public int Slots => _heaps.Length;
    public int K => k;
    public IComparer<T> Order => weaker;

    /// <summary>Elements held in all slots together.</summary>
    public long Count => _heaps.Sum(h => (long)(h?.Count ?? 0));

    /// <summary>Whether <see cref="Offer"/> would keep <paramref name="candidate"/> (lets a caller build a costly element only when it is kept).</summary>
    public bool Accepts(int slot, T candidate) =>
        _heaps[slot] is not { } heap || heap.Count < k || weaker.Compare(heap.Peek(), candidate) < 0;

    public void Offer(int slot, T element)
    {
        var heap = _heaps[slot] ??= new PriorityQueue<T, T>(weaker);
        if (heap.Count < k) heap.Enqueue(element, element);
        else if (weaker.Compare(heap.Peek(), element) < 0) heap.EnqueueDequeue(element, element);
    }

    /// <summary>A slot's elements in no particular order.</summary>
    public IEnumerable<T> Unordered(int slot) => _heaps[slot] is { } heap ? heap.UnorderedItems.Select(e => e.Element) : [];

    /// <summary>A slot's elements, strongest first.</summary>
    public IReadOnlyList<T> Of(int slot) => Unordered(slot).OrderDescending(weaker).ToList();

    public bool IsEmpty(int slot) => _heaps[slot] is not { Count: > 0 };

    /// <summary>A new set holding the top k of both in every slot (associative and commutative).</summary>
    public BoundedHeaps<T> Merge(BoundedHeaps<T> other)
    {
        if (other.Slots != Slots || other.K != K) throw new ArgumentException($"cannot merge heaps of {Slots}x{K} and {other.Slots}x{other.K}");
        var merged = new BoundedHeaps<T>(Slots, K, weaker);
        for (int s = 0; s < Slots; s++)
        {
            foreach (var e in Unordered(s)) merged.Offer(s, e);
            foreach (var e in other.Unordered(s)) merged.Offer(s, e);
        }
        return merged;
    }
}

/// <summary>
/// Per feature its <see cref="K"/> strongest activations over a corpus (<see cref="BoundedHeaps{T}"/> under
/// <see cref="Activation.Weaker"/>: larger value first, ties to the smaller item id), so the result does not depend on
/// how the tokens were split into blocks or in which order the partial results are merged.
/// </summary>
public sealed class TopActivations
{
    private readonly BoundedHeaps<Activation> _heaps;

    public int Width => _heaps.Slots;
    public int K => _heaps.K;

    public TopActivations(int width, int k) : this(new BoundedHeaps<Activation>(width, k, Activation.Weaker)) { }

    private TopActivations(BoundedHeaps<Activation> heaps) => _heaps = heaps;

    /// <summary>Offers every non-zero code of a block of CSR rows (row r is token <paramref name="tokens"/>[r], id <paramref name="items"/>[r]).</summary>
    public void AddRows(int[] offsets, int[] indices, float[] values, int[] tokens, long[] items)
    {
        for (int r = 0; r + 1 < offsets.Length; r++)
            for (int k = offsets[r]; k < offsets[r + 1]; k++)
                if (values[k] > 0) Offer(indices[k], new Activation(values[k], tokens[r], items[r]));
    }

    public void Offer(int feature, Activation activation) => _heaps.Offer(feature, activation);

    /// <summary>A new set holding the top k of both (associative and commutative).</summary>
    public TopActivations Merge(TopActivations other)
    {
        if (other.Width != Width || other.K != K) throw new ArgumentException($"cannot merge top activations of {Width}x{K} and {other.Width}x{other.K}");
        return new TopActivations(_heaps.Merge(other._heaps));
    }

    /// <summary>A feature's kept activations, strongest first.</summary>
    public IReadOnlyList<Activation> Of(int feature) => _heaps.Of(feature);

    /// <summary>Per feature the tokens of its kept activations, strongest first, as the strings <paramref name="name"/> gives.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Tokens(Func<int, string> name) =>
        Enumerable.Range(0, Width).Select(f => (IReadOnlyList<string>)Of(f).Select(a => name(a.Token)).ToList()).ToList();
}
