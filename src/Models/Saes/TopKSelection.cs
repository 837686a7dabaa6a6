using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Sweep.Models.Saes;

/// <summary>
/// The TopK codes of one token, selected while its pre-activation row arrives tile by tile, never sorted and never
/// whole: a scan keeps the entries at or above a running threshold in a small buffer (in feature order), and when
/// the buffer fills, the threshold is raised to the buffer's k-th largest value and the entries below it dropped.
/// Before the first tile is scanned the threshold starts at the k-th largest of the tile's group maxima — those are
/// k entries of the row, so the row's k-th value is at least as large — which leaves the scan a few entries to keep.
/// The codes are the positive entries among the k largest, ascending by feature: exactly what <c>ReLU(topk(pre))</c>
/// then dropping zeros gives, provided the k-th largest is not tied across the boundary.
/// </summary>
/// <remarks>
/// Ties: torch's CPU topk picks among equal values by the order its partial sort leaves them in, not by index. So
/// a row where the k-th largest positive value also occurs outside the k (or any NaN) is reported instead of
/// decided here, and the caller runs torch's own topk on that row. The scan admits values equal to the threshold,
/// so every entry equal to the final k-th value is in the buffer and such a tie is always seen.
/// The k-th largest of a set of positive floats is found by bisection on their bit patterns (which order positive
/// floats as their values do) with vectorised counts: exact, branch-light, and no partial sort.
/// </remarks>
internal sealed class TopKSelection
{
    private static readonly int Lanes = Vector256<float>.Count;

    private readonly int _k, _capacity;
    private readonly float[] _values, _maxima, _lanes = new float[Vector256<float>.Count];
    private readonly int[] _indices;
    private int _count;
    private float _threshold;
    private bool _tooManyTies, _guessed;
    private Vector256<float> _nanProbe;

    public TopKSelection(int k)
    {
        _k = k;
        // Room for k survivors and a few hundred newcomers between raises: few raises per row.
        _capacity = Math.Max(4 * k, 256);
        // A scan step adds at most a vector's lanes past the capacity.
        _values = new float[_capacity + Vector512<float>.Count + Lanes];
        _indices = new int[_capacity + Vector512<float>.Count + Lanes];
        _maxima = new float[RoundUp(4 * k, Lanes) + Lanes];
        Reset();
    }

    private static int RoundUp(int n, int multiple) => (n + multiple - 1) / multiple * multiple;

    /// <summary>The row's k-th largest value once <see cref="Finish"/> found k codes, else 0.</summary>
    public float Kth { get; private set; }

    /// <summary>
    /// Starts a new row, optionally with a <paramref name="guess"/> of its k-th value (e.g. the least of the last
    /// rows'). A guess is verified, not trusted: a row that turns out to have fewer than k entries at or above it is
    /// reported by <see cref="Finish"/> like a tie.
    /// </summary>
    public void Reset(float guess = 0f)
    {
        _count = 0;
        // v >= float.Epsilon is v > 0: only positive entries can be codes (ReLU after TopK).
        _guessed = guess > float.Epsilon;
        _threshold = _guessed ? guess : float.Epsilon;
        _tooManyTies = false;
        _nanProbe = Vector256<float>.Zero;
        Kth = 0f;
    }

    /// <summary>
    /// Scans features [<paramref name="offset"/>, offset + pre.Length) of the row: <c>pre[j] + bias[j]</c>, the encoder's
    /// pre-activations (the same float32 addition torch does).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Scan(ReadOnlySpan<float> pre, ReadOnlySpan<float> bias, int offset)
    {
        if (_tooManyTies) return;
        if (_count < _k && !_guessed) RaiseFromGroupMaxima(pre, bias);
        int width = pre.Length, j = 0;
        ref float r = ref MemoryMarshal.GetReference(pre);
        ref float b = ref MemoryMarshal.GetReference(bias);
        // A NaN anywhere makes the running sum NaN (so may an overflow to ±inf: the row then just goes to torch too).
        if (Vector512.IsHardwareAccelerated)
        {
            var probe = Vector512<float>.Zero;
            var limit = Vector512.Create(_threshold);
            for (; j + Vector512<float>.Count <= width; j += Vector512<float>.Count)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)j) + Vector512.LoadUnsafe(ref b, (nuint)j);
                probe += v;
                ulong mask = Vector512.GreaterThanOrEqual(v, limit).ExtractMostSignificantBits();
                if (mask == 0) continue;
                Append(v.GetLower(), (uint)mask & 0xFF, offset + j);
                Append(v.GetUpper(), (uint)(mask >> 8), offset + j + Lanes);
                if (_count >= _capacity)
                {
                    if (!Raise()) return;
                    limit = Vector512.Create(_threshold);
                }
            }
            _nanProbe += probe.GetLower() + probe.GetUpper();
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var limit = Vector256.Create(_threshold);
            for (; j + Lanes <= width; j += Lanes)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)j) + Vector256.LoadUnsafe(ref b, (nuint)j);
                _nanProbe += v;
                uint mask = Vector256.GreaterThanOrEqual(v, limit).ExtractMostSignificantBits();
                if (mask == 0) continue;
                Append(v, mask, offset + j);
                if (_count >= _capacity)
                {
                    if (!Raise()) return;
                    limit = Vector256.Create(_threshold);
                }
            }
        }
        for (; j < width; j++)
        {
            float v = Unsafe.Add(ref r, j) + Unsafe.Add(ref b, j);
            if (float.IsNaN(v)) { _nanProbe = Vector256.Create(float.NaN); continue; }
            if (v < _threshold) continue;
            _values[_count] = v;
            _indices[_count++] = offset + j;
            if (_count >= _capacity && !Raise()) return;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Append(Vector256<float> v, uint mask, int first)
    {
        // Every lane is written, only the admitted ones are counted: no branch per lane.
        v.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(_lanes));
        while (mask != 0)
        {
            int lane = BitOperations.TrailingZeroCount(mask);
            _values[_count] = _lanes[lane];
            _indices[_count++] = first + lane;
            mask &= mask - 1;
        }
    }

    /// <summary>
    /// Writes the row's codes (up to k (feature, value) pairs, ascending by feature) and returns their number, or −1
    /// when the row must go to torch's topk (a tie at the k-th largest positive value, or a NaN).
    /// </summary>
    public int Finish(Span<int> indices, Span<float> values)
    {
        if (_tooManyTies || !float.IsFinite(Vector256.Sum(_nanProbe))) return -1;
        int n = _count;
        // Fewer than k entries at or above a guessed threshold: the guess was above the row's k-th value.
        if (n < _k && _guessed) return -1;
        if (n > _k)
        {
            float kth = KthLargest(_values, n);
            if (CountAtLeast(_values, n, kth) > _k) return -1;   // the k-th value is tied across the boundary: torch decides
            n = Keep(n, kth);
            Kth = kth;
        }
        else if (n == _k) Kth = Min(_values, n);
        _indices.AsSpan(0, n).CopyTo(indices);
        _values.AsSpan(0, n).CopyTo(values);
        return n;
    }

    /// <summary>
    /// Raises the threshold to the k-th largest of about 4k maxima of the tile: each lane of a group's running vector
    /// maximum is the maximum of its own entries of the row, so k entries of the row are at least that large.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void RaiseFromGroupMaxima(ReadOnlySpan<float> pre, ReadOnlySpan<float> bias)
    {
        int groups = _maxima.Length / Lanes - 1;
        int group = pre.Length / groups / Lanes * Lanes;   // entries per group, whole vectors
        if (!Vector256.IsHardwareAccelerated || group < Lanes) return;
        ref float r = ref MemoryMarshal.GetReference(pre);
        ref float b = ref MemoryMarshal.GetReference(bias);
        ref float m = ref MemoryMarshal.GetArrayDataReference(_maxima);
        var floor = Vector256.Create(float.Epsilon);
        for (int g = 0; g < groups; g++)
        {
            // Starting at +epsilon: a maximum that is not positive counts as epsilon, which is never above the threshold.
            var max = floor;
            for (int j = g * group, end = j + group; j < end; j += Lanes)
                max = Vector256.Max(max, Vector256.LoadUnsafe(ref r, (nuint)j) + Vector256.LoadUnsafe(ref b, (nuint)j));
            max.StoreUnsafe(ref m, (nuint)(g * Lanes));
        }
        float bound = LowerBoundOfKth(_maxima, groups * Lanes, _threshold);
        if (bound > _threshold) _threshold = bound;
    }

    /// <summary>Raises the threshold to about the buffer's k-th largest and keeps the entries at or above it (order kept). False when ties fill the buffer.</summary>
    private bool Raise()
    {
        _threshold = LowerBoundOfKth(_values, _count, _threshold);
        _count = Keep(_count, _threshold);
        if (_count <= _capacity / 2) return true;
        _tooManyTies = true;   // a run of equal values as large as the buffer: leave the row to torch
        return false;
    }

    private int Keep(int n, float atLeast)
    {
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            float v = _values[i];
            _values[kept] = v;
            _indices[kept] = _indices[i];
            kept += v >= atLeast ? 1 : 0;
        }
        return kept;
    }

    /// <summary>
    /// A value at most the k-th largest of a[0..n) and close to it (within 1/256 of the span above
    /// <paramref name="low"/>, which must be a lower bound already): bisection on the values with vectorised counts.
    /// Only a threshold: the exact k-th comes at the end of the row (<see cref="KthLargest"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float LowerBoundOfKth(float[] a, int n, float low)
    {
        float high = Max(a, n);
        if (!float.IsFinite(high)) return low;   // an infinity (or NaN) in the row: it goes to torch anyway
        for (int step = 0; step < 8; step++)
        {
            float mid = low + (high - low) * 0.5f;
            if (mid <= low || mid >= high) break;
            if (CountAtLeast(a, n, mid) >= _k) low = mid;
            else high = mid;
        }
        return low;
    }

    private static float Min(float[] a, int n)
    {
        float m = float.PositiveInfinity;
        for (int i = 0; i < n; i++) m = MathF.Min(m, a[i]);
        return m;
    }

    private static float Max(float[] a, int n)
    {
        ref float start = ref MemoryMarshal.GetArrayDataReference(a);
        var max = Vector256.Create(float.NegativeInfinity);
        int i = 0;
        for (; i + Lanes <= n; i += Lanes) max = Vector256.Max(max, Vector256.LoadUnsafe(ref start, (nuint)i));
        float m = float.NegativeInfinity;
        for (int l = 0; l < Lanes; l++) m = MathF.Max(m, max.GetElement(l));
        for (; i < n; i++) m = MathF.Max(m, a[i]);
        return m;
    }

    /// <summary>
    /// The k-th largest of a[0..n) (n ≥ k, every value at least the threshold, which is positive, and not NaN): the
    /// largest t with at least k values ≥ t, by bisection over the bit patterns of positive floats, which are ordered
    /// as the values are.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private float KthLargest(float[] a, int n)
    {
        int low = BitConverter.SingleToInt32Bits(_threshold), high = BitConverter.SingleToInt32Bits(Max(a, n));
        // Invariant: at least k values ≥ low; fewer than k values ≥ high + 1.
        while (low < high)
        {
            int mid = low + (high - low + 1) / 2;
            if (CountAtLeast(a, n, BitConverter.Int32BitsToSingle(mid)) >= _k) low = mid;
            else high = mid - 1;
        }
        return BitConverter.Int32BitsToSingle(low);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int CountAtLeast(float[] a, int n, float t)
    {
        ref float start = ref MemoryMarshal.GetArrayDataReference(a);
        var limit = Vector256.Create(t);
        int count = 0, i = 0;
        for (; i + Lanes <= n; i += Lanes)
            count += BitOperations.PopCount(Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref start, (nuint)i), limit).ExtractMostSignificantBits());
        for (; i < n; i++) count += a[i] >= t ? 1 : 0;
        return count;
    }
}
