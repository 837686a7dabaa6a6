namespace Sweep.Analysis.Correlation;

/// <summary>
/// Sparse codes of a block of tokens in CSR form, the layout of a sparse shard (Arrow <c>idx</c>
/// List&lt;int32&gt;, <c>val</c> List&lt;float32&gt;): token t holds Indices/Values[Offsets[t]..Offsets[t+1]),
/// indices strictly increasing within a token, values the (non-negative) activations.
/// </summary>
public sealed record SparseRows(int Width, int[] Offsets, int[] Indices, float[] Values)
{
    public int Rows => Offsets.Length - 1;

    public void Validate()
    {
        if (Offsets.Length == 0 || Offsets[0] != 0 || Offsets[^1] != Indices.Length || Indices.Length != Values.Length)
            throw new ArgumentException("sparse rows: offsets must start at 0 and end at the number of indices, one value per index");
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++)
            {
                if (Indices[k] < 0 || Indices[k] >= Width) throw new ArgumentException($"sparse rows: token {t} has feature {Indices[k]} outside 0..{Width - 1}");
                if (k > Offsets[t] && Indices[k] <= Indices[k - 1]) throw new ArgumentException($"sparse rows: token {t} has feature indices out of order");
                if (Values[k] < 0 || !float.IsFinite(Values[k])) throw new ArgumentException($"sparse rows: token {t} feature {Indices[k]} has value {Values[k]}, expected non-negative codes");
            }
    }

    /// <summary>Dense row-major copy [Rows, Width] (for tests and the dense reference path).</summary>
    public float[] ToDense()
    {
        var dense = new float[(long)Rows * Width];
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++) dense[(long)t * Width + Indices[k]] = Values[k];
        return dense;
    }

    /// <summary>Tokens [from, from + count) as their own block.</summary>
    public SparseRows Slice(int from, int count)
    {
        int start = Offsets[from], end = Offsets[from + count];
        var offsets = new int[count + 1];
        for (int t = 0; t <= count; t++) offsets[t] = Offsets[from + t] - start;
        return new SparseRows(Width, offsets, Indices[start..end], Values[start..end]);
    }
}

/// <summary>Open-addressing hash map from a pair key (a·widthB + b) to a float64 sum; the co-active cross sums.</summary>
internal sealed class PairSums
{
    private long[] _keys;   // key + 1; 0 marks an empty slot
    private double[] _values;
    private int _mask;
    public int Count { get; private set; }

    public PairSums(int capacity = 1 << 12)
    {
        int size = 1 << Math.Max(4, (int)Math.Ceiling(Math.Log2(Math.Max(16, capacity * 2))));
        _keys = new long[size]; _values = new double[size]; _mask = size - 1;
    }

    public long Bytes => _keys.Length * 16L;

    public void Add(long key, double value)
    {
        if ((Count + 1) * 2 > _keys.Length) Grow();
        long stored = key + 1;
        int slot = Slot(stored);
        while (true)
        {
            long k = _keys[slot];
            if (k == stored) { _values[slot] += value; return; }
            if (k == 0) { _keys[slot] = stored; _values[slot] = value; Count++; return; }
            slot = (slot + 1) & _mask;
        }
    }

    public IEnumerable<(long Key, double Value)> Entries()
    {
        for (int i = 0; i < _keys.Length; i++)
            if (_keys[i] != 0) yield return (_keys[i] - 1, _values[i]);
    }

    /// <summary>Keys and values sorted by key (deterministic whatever the insertion order).</summary>
    public (long[] Keys, double[] Values) Sorted()
    {
        var keys = new long[Count];
        var values = new double[Count];
        int n = 0;
        for (int i = 0; i < _keys.Length; i++)
            if (_keys[i] != 0) { keys[n] = _keys[i] - 1; values[n++] = _values[i]; }
        Array.Sort(keys, values);
        return (keys, values);
    }

    public PairSums Clone()
    {
        var c = new PairSums(16) { Count = Count };
        c._keys = (long[])_keys.Clone(); c._values = (double[])_values.Clone(); c._mask = _mask;
        return c;
    }

    private int Slot(long stored) => (int)((ulong)(stored * unchecked((long)0x9E3779B97F4A7C15UL)) >> 20) & _mask;

    private void Grow()
    {
        var keys = _keys; var values = _values;
        _keys = new long[keys.Length * 2]; _values = new double[keys.Length * 2]; _mask = _keys.Length - 1; Count = 0;
        for (int i = 0; i < keys.Length; i++)
            if (keys[i] != 0) Add(keys[i] - 1, values[i]);
    }
}
