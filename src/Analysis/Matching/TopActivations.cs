namespace Sweep.Analysis.Matching;

/// <summary>One activation of a feature: its value, the token it fired on and the token's corpus-wide id (sequence, position).</summary>
public readonly record struct Activation(float Value, int Token, long Item);

/// <summary>
/// Per feature its <see cref="K"/> strongest activations over a corpus, kept in bounded min-heaps (memory
/// width·k). Order: larger value first, ties to the smaller item id, so the result does not depend on how the
/// tokens were split into blocks or in which order the partial results are merged.
/// </summary>
public sealed class TopActivations
{
    private static readonly Comparer<Activation> Weaker = Comparer<Activation>.Create((x, y) =>
        x.Value != y.Value ? x.Value.CompareTo(y.Value) : y.Item.CompareTo(x.Item));

    private readonly PriorityQueue<Activation, Activation>[] _heaps;

    public int Width => _heaps.Length;
    public int K { get; }

    public TopActivations(int width, int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "at least one activation per feature");
        K = k;
        _heaps = new PriorityQueue<Activation, Activation>[width];
        for (int f = 0; f < width; f++) _heaps[f] = new PriorityQueue<Activation, Activation>(Weaker);
    }

    /// <summary>Offers every non-zero code of a block of CSR rows (row r is token <paramref name="tokens"/>[r], id <paramref name="items"/>[r]).</summary>
    public void AddRows(int[] offsets, int[] indices, float[] values, int[] tokens, long[] items)
    {
        for (int r = 0; r + 1 < offsets.Length; r++)
            for (int k = offsets[r]; k < offsets[r + 1]; k++)
                if (values[k] > 0) Offer(indices[k], new Activation(values[k], tokens[r], items[r]));
    }

    public void Offer(int feature, Activation activation)
    {
        var heap = _heaps[feature];
        if (heap.Count < K) heap.Enqueue(activation, activation);
        else if (Weaker.Compare(heap.Peek(), activation) < 0) heap.EnqueueDequeue(activation, activation);
    }

    /// <summary>A new set holding the top k of both (associative and commutative).</summary>
    public TopActivations Merge(TopActivations other)
    {
        if (other.Width != Width || other.K != K) throw new ArgumentException($"cannot merge top activations of {Width}x{K} and {other.Width}x{other.K}");
        var merged = new TopActivations(Width, K);
        for (int f = 0; f < Width; f++)
        {
            foreach (var (a, _) in _heaps[f].UnorderedItems) merged.Offer(f, a);
            foreach (var (a, _) in other._heaps[f].UnorderedItems) merged.Offer(f, a);
        }
        return merged;
    }

    /// <summary>A feature's kept activations, strongest first.</summary>
    public IReadOnlyList<Activation> Of(int feature) =>
        _heaps[feature].UnorderedItems.Select(e => e.Element).OrderDescending(Weaker).ToList();

    /// <summary>Per feature the tokens of its kept activations, strongest first, as the strings <paramref name="name"/> gives.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Tokens(Func<int, string> name) =>
        Enumerable.Range(0, Width).Select(f => (IReadOnlyList<string>)Of(f).Select(a => name(a.Token)).ToList()).ToList();
}
