using System.Numerics;

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
}

/// <summary>What encoding a block of tokens gives: one set of codes per output, and the SAE's reconstruction of the input.</summary>
/// <param name="Codes">By output name: <c>codes</c>, or <c>novel</c> and <c>pred</c> for a temporal SAE.</param>
/// <param name="Reconstruction">Row-major tokens x d_in, in the input's units (normalisation undone).</param>
public sealed record SaeEncoding(IReadOnlyDictionary<string, SparseCodes> Codes, float[] Reconstruction);

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
    SaeEncoding Encode(ReadOnlySpan<float> rows, IReadOnlyList<int> sequenceLengths);
}
