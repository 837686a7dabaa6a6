using System.Numerics;
using System.Runtime.Intrinsics;

namespace Sweep.Models.Saes;

/// <summary>
/// Codes of many tokens in CSR form: token r's non-zero codes are <c>Indices/Values[Offsets[r] .. Offsets[r+1])</c>,
/// feature indices ascending. Never a dense tokens x d_sae matrix.
/// </summary>
public sealed record SparseCodes(int Rows, int Width, int[] Offsets, int[] Indices, float[] Values)
{
    public ReadOnlySpan<int> RowIndices(int row) => Indices.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);
    public ReadOnlySpan<float> RowValues(int row) => Values.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);

    /// <summary>Collects the non-zero entries of row-major dense blocks (each <c>rows x width</c>) appended in order.</summary>
    internal sealed class Builder(int width)
    {
        private readonly List<int> _offsets = [0];
        private readonly List<int> _indices = [];
        private readonly List<float> _values = [];

        public void AppendDense(ReadOnlySpan<float> block, int rows)
        {
            int lanes = Vector<float>.Count;
            for (int r = 0; r < rows; r++)
            {
                var row = block.Slice(r * width, width);
                int f = 0;
                // Codes are mostly zeros: skip whole vectors of them (-0 counts as zero, a NaN does not).
                for (; f + lanes <= width; f += lanes)
                {
                    if (Vector.EqualsAll(new Vector<float>(row[f..]), Vector<float>.Zero)) continue;
                    for (int g = f; g < f + lanes; g++)
                        if (row[g] != 0f) { _indices.Add(g); _values.Add(row[g]); }
                }
                for (; f < width; f++)
                    if (row[f] != 0f) { _indices.Add(f); _values.Add(row[f]); }
                _offsets.Add(_indices.Count);
            }
        }

        public SparseCodes Build() => new(_offsets.Count - 1, width, _offsets.ToArray(), _indices.ToArray(), _values.ToArray());
    }

    /// <summary>
    /// Collects the codes of <c>rows</c> tokens of at most <c>k</c> codes each, row by row, into arrays of rows·k entries
    /// (a TopK SAE's codes fill them exactly, so they are handed over without a copy; otherwise they are cut to size).
    /// </summary>
    internal sealed class Writer(int rows, int width, int k)
    {
        private readonly int[] _offsets = new int[rows + 1];
        private int[] _indices = new int[(long)rows * k];
        private float[] _values = new float[(long)rows * k];
        private int _row, _count;

        public void Append(ReadOnlySpan<int> indices, ReadOnlySpan<float> values)
        {
            if (indices.Length > k) throw new ArgumentException($"{indices.Length} codes in one row, at most {k} expected");
            indices.CopyTo(_indices.AsSpan(_count));
            values.CopyTo(_values.AsSpan(_count));
            _count += indices.Length;
            _offsets[++_row] = _count;
        }

        public SparseCodes Build()
        {
            if (_row != rows) throw new InvalidOperationException($"{_row} of {rows} rows were written");
            if (_count < _indices.Length)
            {
                Array.Resize(ref _indices, _count);
                Array.Resize(ref _values, _count);
            }
            return new SparseCodes(rows, width, _offsets, _indices, _values);
        }
    }
}

/// <summary>What encoding a block of tokens gives: one set of codes per output, and the SAE's reconstruction of the input.</summary>
/// <param name="Codes">By output name: <c>codes</c>, or <c>novel</c> and <c>pred</c> for a temporal SAE.</param>
/// <param name="Reconstruction">
/// x̂, row-major tokens x d_in, in the input's units (normalisation undone); null when the caller asked for
/// <see cref="ReconstructionOutput.SquaredErrorOnly"/>.
/// </param>
/// <param name="ReconstructionSse">Σ over tokens and dimensions of (x − x̂)², in float64 (<see cref="ReconstructionError"/>).</param>
public sealed record SaeEncoding(IReadOnlyDictionary<string, SparseCodes> Codes, float[]? Reconstruction, double ReconstructionSse);

/// <summary>What a caller keeps of the reconstruction: its values, or only its squared error (a capture stores no more).</summary>
public enum ReconstructionOutput { Values, SquaredErrorOnly }

/// <summary>The squared error of a reconstruction, summed in float64: per token over its dimensions, then over the tokens in order.</summary>
public static class ReconstructionError
{
    /// <summary>Σ (x − x̂)² over the rows of width <paramref name="width"/>, each row summed by <see cref="SumOfSquares(ReadOnlySpan{float}, ReadOnlySpan{float})"/>.</summary>
    public static double SumOfSquares(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat, int width)
    {
        if (x.Length != xhat.Length || x.Length % width != 0) throw new ArgumentException($"{x.Length} inputs and {xhat.Length} reconstructions are not the same rows of {width}");
        double sum = 0;
        for (int at = 0; at < x.Length; at += width) sum += SumOfSquares(x.Slice(at, width), xhat.Slice(at, width));
        return sum;
    }

    /// <summary>One row's Σ ((double)x − (double)x̂)², eight partial sums at a time.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static double SumOfSquares(ReadOnlySpan<float> x, ReadOnlySpan<float> xhat)
    {
        int j = 0;
        var acc = Vector256<double>.Zero;
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= x.Length; j += 8)
            {
                var (xLow, xHigh) = Vector256.Widen(Vector256.Create(x.Slice(j, 8)));
                var (hLow, hHigh) = Vector256.Widen(Vector256.Create(xhat.Slice(j, 8)));
                var (dLow, dHigh) = (xLow - hLow, xHigh - hHigh);
                acc = Vector256.FusedMultiplyAdd(dLow, dLow, acc);
                acc = Vector256.FusedMultiplyAdd(dHigh, dHigh, acc);
            }
        double sum = Vector256.Sum(acc);
        for (; j < x.Length; j++)
        {
            double d = (double)x[j] - xhat[j];
            sum += d * d;
        }
        return sum;
    }
}

/// <summary>Anything that turns a site's activations into sparse codes.</summary>
public interface ISparseEncoder : IDisposable
{
    SaeConfig Config { get; }

    /// <summary>Output names, in order: <c>["codes"]</c>, or <c>["novel", "pred"]</c> for a temporal SAE.</summary>
    IReadOnlyList<string> Outputs { get; }

    /// <summary>
    /// Encodes <paramref name="rows"/> (row-major tokens x d_in) made of consecutive sequences of the given
    /// lengths (a temporal SAE attends within a sequence; others ignore the lengths).
    /// </summary>
    SaeEncoding Encode(ReadOnlySpan<float> rows, IReadOnlyList<int> sequenceLengths, ReconstructionOutput reconstruction = ReconstructionOutput.Values);
}
