using System.Runtime.CompilerServices;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Matching;

namespace Sweep.Analysis.Features;

/// <summary>
/// One site's activations over a block of whole sequences, the unit every feature statistic folds: a corpus shard
/// (or several), one row per token in ascending (seq, pos) order with positions consecutive within a sequence, plus
/// the shard's <c>seq</c>, <c>pos</c> and <c>token</c> columns. A sequence never spans two corpus shards
/// (<c>CorpusLoader</c> cuts shards at sequence boundaries), so a block of whole shards holds whole sequences and a
/// context window never needs a neighbouring block.
/// </summary>
/// <remarks>
/// Codes of an SAE (<see cref="Sparse"/>) are non-negative and stored sparse (CSR); a value not stored is 0. Dense
/// activations (<see cref="Dense"/>, row-major [rows, width]; a "feature" is a unit) may be negative. Either way a
/// feature <b>fires</b> on a token where its value is &gt; 0.
/// </remarks>
public sealed class FeatureBlock
{
    public int Width { get; }
    public int Rows { get; }
    public int[] Seq { get; }
    public int[] Pos { get; }
    public int[] Token { get; }
    /// <summary>The codes of an SAE site, or null for a dense site.</summary>
    public SparseRows? Sparse { get; }
    /// <summary>Row-major [rows, width] values of a dense site, or null for SAE codes.</summary>
    public float[]? Dense { get; }

    private int[]? _sequenceStart, _sequenceEnd;

    private FeatureBlock(int width, int rows, int[] seq, int[] pos, int[] token, SparseRows? sparse, float[]? dense)
    {
        Width = width; Rows = rows; Seq = seq; Pos = pos; Token = token; Sparse = sparse; Dense = dense;
    }

    public bool IsSparse => Sparse is not null;

    /// <summary>SAE codes of whole sequences; checked (<see cref="Validate"/>).</summary>
    public static FeatureBlock FromSparse(SparseRows codes, int[] seq, int[] pos, int[] token)
    {
        var block = new FeatureBlock(codes.Width, codes.Rows, seq, pos, token, codes, null);
        block.Validate();
        return block;
    }

    /// <summary>Dense activations [rows, width] of whole sequences; checked (<see cref="Validate"/>).</summary>
    public static FeatureBlock FromDense(float[] values, int width, int[] seq, int[] pos, int[] token)
    {
        if (width <= 0) throw new ArgumentException($"a dense block needs a positive width, got {width}");
        if (values.Length % width != 0) throw new ArgumentException($"{values.Length} values are not whole rows of width {width}");
        var block = new FeatureBlock(width, values.Length / width, seq, pos, token, null, values);
        block.Validate();
        return block;
    }

    /// <summary>The row's corpus-wide id (<see cref="Activation.ItemOf"/>).</summary>
    public long Item(int row) => Activation.ItemOf(Seq[row], Pos[row]);

    /// <summary>Feature <paramref name="feature"/>'s value on row <paramref name="row"/> (0 where SAE codes store none).</summary>
    public float Value(int row, int feature)
    {
        if (Dense is { } dense) return dense[(long)row * Width + feature];
        var codes = Sparse!;
        int k = Array.BinarySearch(codes.Indices, codes.Offsets[row], codes.Offsets[row + 1] - codes.Offsets[row], feature);
        return k >= 0 ? codes.Values[k] : 0f;
    }

    /// <summary>Rows [start, end) of the sequence holding <paramref name="row"/>.</summary>
    public (int Start, int End) SequenceOf(int row)
    {
        if (_sequenceStart is null) IndexSequences();
        return (_sequenceStart![row], _sequenceEnd![row]);
    }

    private void IndexSequences()
    {
        var start = new int[Rows];
        var end = new int[Rows];
        for (int r = 0; r < Rows;)
        {
            int s = r;
            while (r < Rows && Seq[r] == Seq[s]) r++;
            for (int i = s; i < r; i++) { start[i] = s; end[i] = r; }
        }
        (_sequenceStart, _sequenceEnd) = (start, end);
    }

    /// <summary>Column lengths, (seq, pos) order with consecutive positions, finite values, and for SAE codes their CSR layout and signs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Validate()
    {
        if (Seq.Length != Rows || Pos.Length != Rows || Token.Length != Rows)
            throw new ArgumentException($"seq/pos/token have {Seq.Length}/{Pos.Length}/{Token.Length} values for {Rows} rows");
        for (int r = 1; r < Rows; r++)
        {
            bool sameSequence = Seq[r] == Seq[r - 1];
            if (sameSequence ? Pos[r] != Pos[r - 1] + 1 : Seq[r] < Seq[r - 1])
                throw new ArgumentException($"row {r}: (seq {Seq[r]}, pos {Pos[r]}) after (seq {Seq[r - 1]}, pos {Pos[r - 1]}), expected ascending sequences with consecutive positions");
        }
        if (Sparse is { } codes) codes.Validate();
        else
            for (long i = 0; i < Dense!.Length; i++)
                if (!float.IsFinite(Dense[i]))
                    throw new ArgumentException($"row {i / Width}, unit {i % Width}: value {Dense[i]} is not finite");
    }
}
