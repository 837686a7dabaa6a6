using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Concepts;

/// <summary>
/// One block of token rows of one site, as a shard holds them: the row index columns <see cref="Seq"/> (corpus-wide
/// sequence), <see cref="Pos"/> (position in the sequence) and <see cref="Token"/> (the token id), and the values —
/// <see cref="Dense"/> row-major [rows × width] activations, or <see cref="Sparse"/> SAE codes in CSR form.
/// Rows are in ascending (seq, pos) order and every sequence in the block is whole (positions 0, 1, …, length − 1):
/// the corpus cuts shards between sequences (<c>Sweep.Jobs.Corpus.CorpusLoader</c>) and a capture writes all of a
/// shard's tokens, so a sequence never spans two shards.
/// </summary>
public sealed class ActivationBlock
{
    public int[] Seq { get; }
    public int[] Pos { get; }
    public int[] Token { get; }
    public int Width { get; }
    public float[]? Dense { get; }
    public SparseRows? Sparse { get; }
    public int Rows => Seq.Length;

    private ActivationBlock(int[] seq, int[] pos, int[] token, int width, float[]? dense, SparseRows? sparse)
    {
        if (pos.Length != seq.Length || token.Length != seq.Length)
            throw new ArgumentException($"seq, pos and token have {seq.Length}, {pos.Length} and {token.Length} rows, expected the same");
        if (width < 1) throw new ArgumentException($"width {width}, expected at least 1");
        Seq = seq; Pos = pos; Token = token; Width = width; Dense = dense; Sparse = sparse;
        CheckOrder();
    }

    /// <summary>Dense activations [rows × width], row-major; non-finite values are refused.</summary>
    public static ActivationBlock FromDense(int[] seq, int[] pos, int[] token, float[] values, int width)
    {
        if (values.Length != (long)seq.Length * width)
            throw new ArgumentException($"{values.Length} values for {seq.Length} rows of width {width}");
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new ArgumentException($"row {i / width} column {i % width} is {values[i]}, expected a finite activation");
        return new ActivationBlock(seq, pos, token, width, values, null);
    }

    /// <summary>Sparse codes (validated: strictly increasing indices, finite non-negative values), one CSR row per token.</summary>
    public static ActivationBlock FromSparse(int[] seq, int[] pos, int[] token, SparseRows codes)
    {
        if (codes.Rows != seq.Length) throw new ArgumentException($"{codes.Rows} code rows for {seq.Length} index rows");
        codes.Validate();
        return new ActivationBlock(seq, pos, token, codes.Width, null, codes);
    }

    /// <summary>Ascending (seq, pos), each sequence starting at position 0 and continuing without a gap.</summary>
    private void CheckOrder()
    {
        for (int r = 0; r < Rows; r++)
        {
            bool starts = r == 0 || Seq[r] != Seq[r - 1];
            if (starts && r > 0 && Seq[r] < Seq[r - 1])
                throw new ArgumentException($"row {r}: sequence {Seq[r]} after sequence {Seq[r - 1]}, expected rows in ascending (seq, pos) order");
            int expected = starts ? 0 : Pos[r - 1] + 1;
            if (Pos[r] != expected)
                throw new ArgumentException(starts
                    ? $"row {r}: sequence {Seq[r]} starts at position {Pos[r]}, expected 0 (a sequence must lie whole in one block)"
                    : $"row {r}: sequence {Seq[r]} jumps from position {Pos[r - 1]} to {Pos[r]}, expected consecutive positions");
        }
    }
}
