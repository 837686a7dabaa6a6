using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>Per row of a block, the token it is: corpus-wide sequence, position, and token id (-1 when unknown).</summary>
public sealed record TokenRows(int[] Seq, int[] Pos, int[] Token)
{
    public int Rows => Seq.Length;

    /// <summary>A token's corpus-wide id (sequence, position): the same whatever the sharding.</summary>
    public long Item(int row) => ((long)Seq[row] << 32) | (uint)Pos[row];

    public long[] Items()
    {
        var items = new long[Rows];
        for (int r = 0; r < items.Length; r++) items[r] = Item(r);
        return items;
    }

    /// <summary>Rows known only by an id each (a matrix's rows: sequence 0, position = the id, no token).</summary>
    public static TokenRows FromItems(IReadOnlyList<long> items) =>
        new(items.Select(i => (int)(i >> 32)).ToArray(), items.Select(i => (int)i).ToArray(), Enumerable.Repeat(-1, items.Count).ToArray());
}

/// <summary>Optional per-row labels (of the prompt a token belongs to): <see cref="Index"/>[r] indexes <see cref="Values"/>, -1 for none.</summary>
public sealed record RowLabels(IReadOnlyList<string> Values, int[] Index);

/// <summary>One site's rows over a block: dense activations (row-major [rows, width] float32) or sparse codes.</summary>
public sealed record SiteRows(int Width, float[]? Dense, SparseRows? Sparse)
{
    public static SiteRows OfDense(int width, float[] values) => new(width, values, null);
    public static SiteRows OfSparse(SparseRows codes) => new(codes.Width, null, codes);

    public float[] DenseValues => Dense ?? throw new ArgumentException("this measure reads dense activations, the block holds sparse codes");
    public SparseRows SparseCodes => Sparse ?? throw new ArgumentException("this measure reads sparse codes, the block holds dense activations");
}

/// <summary>
/// Aligned rows of one block of tokens (a corpus shard, or part of one): the rows of site A, of site B for a pair
/// measure (null for a one-site measure), which token each row is, and the rows' labels when the corpus has any.
/// </summary>
public sealed record MeasureBlock(TokenRows Tokens, SiteRows A, SiteRows? B = null, RowLabels? Labels = null)
{
    public int Rows => Tokens.Rows;
    public SiteRows RequireB => B ?? throw new ArgumentException("this measure compares two sites; the block has one");
}
