namespace Sweep.Models.Checkpoints;

/// <summary>A stored tensor's dtype (<c>float32</c>, <c>float16</c>, <c>bfloat16</c>, <c>int64</c>, ...) and shape, read without its values.</summary>
public sealed record TensorInfo(string Dtype, long[] Shape)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public bool HasShape(params long[] shape) => Shape.AsSpan().SequenceEqual(shape);

    public bool IsFloat => Dtype is "float32" or "float16" or "bfloat16";
}

/// <summary>
/// A floating-point array read from a file into managed memory: row-major float32 values (float16 and bfloat16
/// widened exactly), its shape, and the dtype it was stored in (<c>float32</c>, <c>float16</c> or <c>bfloat16</c>).
/// What the .npz and PyTorch readers return; SAE loaders check shapes and names.
/// </summary>
public sealed record HostTensor(string Dtype, long[] Shape, float[] Values)
{
    public TensorInfo Info => new(Dtype, Shape);

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public bool HasShape(params long[] shape) => Shape.AsSpan().SequenceEqual(shape);

    /// <summary>Row-major elements of a tensor stored with arbitrary element strides (in elements) from <paramref name="offset"/>.</summary>
    internal static float[] Gather(ReadOnlySpan<float> storage, long offset, long[] shape, long[] strides, string what)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > Array.MaxLength) throw new ModelLoadException($"{what}: {count} values are more than one array holds");
        var result = new float[count];
        if (count == 0) return result;
        // Contiguous row-major (the usual case): one copy.
        long expected = 1;
        bool contiguous = true;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && strides[d] != expected) contiguous = false;
            expected *= shape[d];
        }
        if (contiguous && offset >= 0 && offset + count <= storage.Length)
        {
            storage.Slice((int)offset, (int)count).CopyTo(result);
            return result;
        }
        // The last element must lie inside the storage: offset + sum((shape_i - 1) * stride_i).
        long last = offset;
        for (int d = 0; d < shape.Length; d++) last += (shape[d] - 1) * strides[d];
        if (offset < 0 || last >= storage.Length || strides.Any(s => s < 0))
            throw new ModelLoadException($"{what}: shape [{string.Join(", ", shape)}] with strides [{string.Join(", ", strides)}] from offset {offset} lies outside its storage of {storage.Length} elements");
        var index = new long[shape.Length];
        long at = offset;
        for (long i = 0; i < count; i++)
        {
            result[i] = storage[(int)at];
            // Advance the multi-index (last dimension fastest), keeping `at` = offset + Σ index_d · stride_d.
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                index[d]++;
                at += strides[d];
                if (index[d] < shape[d]) break;
                at -= index[d] * strides[d];
                index[d] = 0;
            }
        }
        return result;
    }
}
