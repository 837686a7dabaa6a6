namespace Sweep.Storage.Shards;

/// <summary>
/// Dense activations of one site over one corpus shard: one row per token, rows in ascending
/// (seq, pos) order. <see cref="Act"/> is row-major, <c>Rows x Metadata.Width</c>.
/// </summary>
public sealed record DenseShard(ShardMetadata Metadata, int Rows, int[] Seq, int[] Pos, int[] Token, float[] Act)
{
    /// <summary>Activation vector of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => Act.AsSpan(row * Metadata.Width, Metadata.Width);

    /// <summary>Checks lengths and metadata; throws <see cref="ArgumentException"/> saying which part is wrong.</summary>
    public void Validate()
    {
        var width = Metadata.Width;
        if (width <= 0) throw new ArgumentException($"shard width must be positive, got {width}");
        if (Rows < 0) throw new ArgumentException($"shard rows must be non-negative, got {Rows}");
        if (Metadata.Kind != "dense") throw new ArgumentException($"a dense shard must have kind 'dense', got '{Metadata.Kind}'");
        if (!ShardDtype.All.Contains(Metadata.Dtype))
            throw new ArgumentException($"dense shards store act as {ShardDtype.Names}, metadata says dtype '{Metadata.Dtype}'");
        if (Seq.Length != Rows) throw new ArgumentException($"seq has {Seq.Length} values for {Rows} rows");
        if (Pos.Length != Rows) throw new ArgumentException($"pos has {Pos.Length} values for {Rows} rows");
        if (Token.Length != Rows) throw new ArgumentException($"token has {Token.Length} values for {Rows} rows");
        if ((long)Rows * width > int.MaxValue)
            throw new ArgumentException($"{Rows} rows x width {width} exceeds one shard's limit of {int.MaxValue} values; use smaller corpus shards");
        if (Act.Length != Rows * width)
            throw new ArgumentException($"act has {Act.Length} values, expected rows x width = {Rows} x {width} = {Rows * width}");
    }
}
