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
/// bounded binary min-heaps, one array of at most k elements per slot that exists only once something was offered to
/// it (memory: slots references plus k elements per used slot). Under a total order the kept set is the same whatever
/// the order of the offers and merges.
/// </summary>
/// <param name="weaker">x &lt; y when x is the weaker of the two; must be a total order on the elements offered.</param>
public sealed class BoundedHeaps<T>(int slots, int k, IComparer<T> weaker)
{
    private readonly T[]?[] _heaps = k >= 1 ? new T[]?[slots] : throw new ArgumentOutOfRangeException(nameof(k), k, "at least one element per slot");
    private readonly int[] _counts = new int[slots];

    public int Slots => _heaps.Length;
    public int K => k;
    public IComparer<T> Order => weaker;

    /// <summary>Elements held in all slots together.</summary>
    public long Count => _counts.Sum(c => (long)c);

    /// <summary>Whether <see cref="Offer"/> would keep <paramref name="candidate"/> (lets a caller build a costly element only when it is kept).</summary>
    public bool Accepts(int slot, T candidate) => _counts[slot] < k || weaker.Compare(_heaps[slot]![0], candidate) < 0;

    public void Offer(int slot, T element)
    {
        int n = _counts[slot];
        if (n < k)
        {
            var heap = _heaps[slot] ??= new T[Math.Min(k, 4)];
            if (n == heap.Length) Array.Resize(ref _heaps[slot], Math.Min(k, 2 * n));
            heap = _heaps[slot]!;
            // Sift up from the new leaf.
            int i = n;
            while (i > 0 && weaker.Compare(element, heap[(i - 1) / 2]) < 0) { heap[i] = heap[(i - 1) / 2]; i = (i - 1) / 2; }
            heap[i] = element;
            _counts[slot] = n + 1;
        }
        else if (weaker.Compare(_heaps[slot]![0], element) < 0)
        {
            // Replace the weakest (the root) and sift down.
            var heap = _heaps[slot]!;
            int i = 0;
            while (true)
            {
                int child = 2 * i + 1;
                if (child >= n) break;
                if (child + 1 < n && weaker.Compare(heap[child + 1], heap[child]) < 0) child++;
                if (weaker.Compare(heap[child], element) >= 0) break;
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = element;
        }
    }

    /// <summary>
    /// Replaces every held element by <paramref name="map"/>(slot, element), in place; the map must not change how an
    /// element orders (it may fill in a payload the order does not look at).
    /// </summary>
    public void Update(Func<int, T, T> map)
    {
        for (int s = 0; s < _heaps.Length; s++)
            for (int i = 0; i < _counts[s]; i++) _heaps[s]![i] = map(s, _heaps[s]![i]);
    }

    /// <summary>A slot's elements in no particular order.</summary>
    public IEnumerable<T> Unordered(int slot) => _heaps[slot] is { } heap ? heap.Take(_counts[slot]) : [];

    /// <summary>A slot's elements, strongest first.</summary>
    public IReadOnlyList<T> Of(int slot) => Unordered(slot).OrderDescending(weaker).ToList();

    public bool IsEmpty(int slot) => _counts[slot] == 0;

    /// <summary>A new set holding the top k of both in every slot (associative and commutative).</summary>
    public BoundedHeaps<T> Merge(BoundedHeaps<T> other)
    {
        if (other.Slots != Slots || other.K != K) throw new ArgumentException($"cannot merge heaps of {Slots}x{K} and {other.Slots}x{other.K}");
        var merged = new BoundedHeaps<T>(Slots, K, weaker);
        for (int s = 0; s < Slots; s++)
        {
            for (int i = 0; i < _counts[s]; i++) merged.Offer(s, _heaps[s]![i]);
            for (int i = 0; i < other._counts[s]; i++) merged.Offer(s, other._heaps[s]![i]);
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
