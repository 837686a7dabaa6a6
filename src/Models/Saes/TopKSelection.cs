using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Sweep.Models.Saes;

/// <summary>
/// TopK codes of one pre-activation row without sorting it: a scan keeps the entries at or above a running threshold
/// in a small buffer (in index order), and whenever the buffer fills, a selection keeps its k largest and raises the
/// threshold to the k-th. The codes are the positive entries among the k largest, ascending by feature — exactly what
/// <c>ReLU(topk(pre))</c> then dropping zeros gives, provided the k-th largest is not tied across the boundary.
/// </summary>
/// <remarks>
/// Ties: torch's CPU topk picks among equal values by the order its partial sort leaves them in, not by index. So
/// a row where the k-th largest positive value also occurs outside the k (or any NaN) is reported instead of
/// decided here, and the caller runs torch's own topk on that row. The scan admits values equal to the threshold,
/// so every entry equal to the final k-th value is in the buffer and such a tie is always seen.
/// </remarks>
internal sealed class TopKSelection
{
    private readonly int _k, _capacity;
    private readonly float[] _values, _scratch;
    private readonly int[] _indices;

    public TopKSelection(int k)
    {
        _k = k;
        // Room for k survivors and a few hundred newcomers between selections: few selections per row.
        _capacity = Math.Max(4 * k, 256);
        _values = new float[_capacity + Vector512<float>.Count];
        _indices = new int[_capacity + Vector512<float>.Count];
        _scratch = new float[_capacity + Vector512<float>.Count];
    }

    /// <summary>
    /// The codes of <c>row[j] + bias[j]</c> (the encoder's pre-activations; the addition is the same float32 addition
    /// torch does): writes up to k (feature, value) pairs ascending by feature and returns their number, or −1 when
    /// the row must go to torch's topk (a tie at the k-th largest positive value, or a NaN).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Select(ReadOnlySpan<float> row, ReadOnlySpan<float> bias, Span<int> indices, Span<float> values)
    {
        int width = row.Length, k = _k, n = 0;
        // v >= float.Epsilon is v > 0: only positive entries can be codes (ReLU after TopK).
        float threshold = float.Epsilon;
        bool nan = false;
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            ref float r = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(row);
            ref float b = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(bias);
            var nanSeen = Vector256<float>.Zero;
            var limit = Vector256.Create(threshold);
            for (; j + Vector256<float>.Count <= width; j += Vector256<float>.Count)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)j) + Vector256.LoadUnsafe(ref b, (nuint)j);
                nanSeen |= ~Vector256.Equals(v, v);
                uint mask = Vector256.GreaterThanOrEqual(v, limit).ExtractMostSignificantBits();
                if (mask == 0) continue;
                do
                {
                    int lane = BitOperations.TrailingZeroCount(mask);
                    _values[n] = v.GetElement(lane);
                    _indices[n++] = j + lane;
                    mask &= mask - 1;
                } while (mask != 0);
                if (n >= _capacity)
                {
                    n = Shrink(n, ref threshold);
                    if (n < 0) return -1;
                    limit = Vector256.Create(threshold);
                }
            }
            nan = nanSeen != Vector256<float>.Zero;
        }
        for (; j < width; j++)
        {
            float v = row[j] + bias[j];
            if (float.IsNaN(v)) nan = true;
            if (v < threshold || float.IsNaN(v)) continue;
            _values[n] = v;
            _indices[n++] = j;
            if (n >= _capacity && (n = Shrink(n, ref threshold)) < 0) return -1;
        }
        if (nan) return -1;
        if (n > k)
        {
            float kth = KthLargest(n);
            int above = 0, equal = 0;
            for (int i = 0; i < n; i++)
            {
                above += _values[i] > kth ? 1 : 0;
                equal += _values[i] == kth ? 1 : 0;
            }
            if (above + equal > k) return -1;   // the k-th value is tied across the boundary: torch decides
            n = Keep(n, kth);
        }
        _indices.AsSpan(0, n).CopyTo(indices);
        _values.AsSpan(0, n).CopyTo(values);
        return n;
    }

    /// <summary>Keeps the entries at or above the k-th largest (ties kept, order kept); raises the threshold to it. −1 when ties fill the buffer.</summary>
    private int Shrink(int n, ref float threshold)
    {
        float kth = KthLargest(n);
        int kept = Keep(n, kth);
        if (kept > _capacity / 2) return -1;   // a run of equal values as large as the buffer: leave the row to torch
        threshold = kth;
        return kept;
    }

    private int Keep(int n, float atLeast)
    {
        int kept = 0;
        for (int i = 0; i < n; i++)
        {
            if (_values[i] < atLeast) continue;
            _values[kept] = _values[i];
            _indices[kept++] = _indices[i];
        }
        return kept;
    }

    /// <summary>The k-th largest of the first n buffered values (n &gt; k), by quickselect on a copy.</summary>
    private float KthLargest(int n)
    {
        var a = _scratch;
        Array.Copy(_values, a, n);
        int target = _k - 1, low = 0, high = n - 1;
        while (low < high)
        {
            // Median of three as the pivot; the three-way partition keeps runs of equal values from degrading it.
            int mid = low + (high - low) / 2;
            float x = a[low], y = a[mid], z = a[high];
            float pivot = Math.Max(Math.Min(x, y), Math.Min(Math.Max(x, y), z));
            int lt = low, i = low, gt = high;
            while (i <= gt)
            {
                float v = a[i];
                if (v > pivot) { a[i] = a[lt]; a[lt] = v; lt++; i++; }
                else if (v < pivot) { a[i] = a[gt]; a[gt] = v; gt--; }
                else i++;
            }
            // a[low..lt) > pivot, a[lt..gt] == pivot, a(gt..high] < pivot
            if (target < lt) high = lt - 1;
            else if (target > gt) low = gt + 1;
            else return pivot;
        }
        return a[target];
    }
}
