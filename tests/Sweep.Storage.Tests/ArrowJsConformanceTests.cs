using System.Text.Json;
using Sweep.Storage.Shards;

namespace Sweep.Storage.Tests;

/// <summary>
/// Shards written by Sweep open in the JavaScript apache-arrow reader (docs/shard-format.md) with the same
/// columns, types, metadata and values, compared bit for bit (NaN, -0, subnormals, infinities included): float32,
/// and the 16-bit patterns of float16 and bfloat16 dense shards.
/// </summary>
public sealed class ArrowJsConformanceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-arrow-js-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(50, 16, ShardDtype.Float32)]
    [InlineData(0, DenseShardFile.DefaultBatchRows, ShardDtype.Float32)]
    [InlineData(50, 16, ShardDtype.Float16)]
    [InlineData(50, 16, ShardDtype.BFloat16)]
    public void Apache_arrow_js_reads_a_dense_shard_as_written(int rows, int batchRows, string dtype)
    {
        const int width = 6;
        var made = ShardTestData.Make(rows, width);
        ShardDtypeTests.Awkward.AsSpan(0, Math.Min(made.Act.Length, ShardDtypeTests.Awkward.Length)).CopyTo(made.Act);
        // Non-ASCII metadata checks that both sides use UTF-8; the compute dtype is independent of the storage dtype.
        var shard = made with { Metadata = made.Metadata with { Model = "tiny-ä/模型", ComputeDtype = "bfloat16", Dtype = dtype } };
        var path = Path.Combine(_dir, "dense.arrow");
        DenseShardFile.Write(path, shard, batchRows);

        var read = ArrowJsReader.Read(path);

        AssertTable(read, rows, batchRows, DenseShardFile.CreateSchema(shard.Metadata).Metadata, path);
        var item = dtype switch { ShardDtype.Float16 => "Float16", ShardDtype.BFloat16 => "Uint16", _ => "Float32" };
        AssertFields(read,
            Field("seq", "Int32"), Field("pos", "Int32"), Field("token", "Int32"),
            Field("act", $"FixedSizeList[{width}]<{item}>", Field("item", item)));
        var columns = read.GetProperty("columns");
        AssertRows(shard.Seq, shard.Pos, shard.Token, columns);
        var act = columns.GetProperty("act").EnumerateArray().ToList();
        Assert.All(act, row => Assert.Equal(width, row.GetArrayLength()));
        Assert.Equal(StoredBits(shard.Act, dtype), act.SelectMany(row => row.EnumerateArray()).Select(v => v.GetUInt32()));
    }

    [Theory]
    [InlineData(300, 128)]
    [InlineData(0, SparseShardFile.DefaultBatchRows)]
    public void Apache_arrow_js_reads_a_sparse_shard_as_written(int rows, int batchRows)
    {
        var shard = ShardTestData.MakeSparse(rows, dSae: 4096, maxL0: 9) with { ReconstructionSse = 1234.5678901234567 };
        var path = Path.Combine(_dir, "sparse.arrow");
        SparseShardFile.Write(path, shard, batchRows);

        var read = ArrowJsReader.Read(path);

        AssertTable(read, rows, batchRows, SparseShardFile.CreateSchema(shard.Metadata, shard.ReconstructionSse).Metadata, path);
        Assert.Equal("1234.5678901234567", read.GetProperty("metadata").GetProperty(SparseShard.KeyReconstructionSse).GetString());
        AssertFields(read,
            Field("seq", "Int32"), Field("pos", "Int32"), Field("token", "Int32"),
            Field("idx", "List<Int32>", Field("item", "Int32")),
            Field("val", "List<Float32>", Field("item", "Float32")));
        var columns = read.GetProperty("columns");
        AssertRows(shard.Seq, shard.Pos, shard.Token, columns);
        var idx = columns.GetProperty("idx").EnumerateArray().ToList();
        var val = columns.GetProperty("val").EnumerateArray().ToList();
        Assert.Equal(rows, idx.Count);
        Assert.Equal(rows, val.Count);
        for (int r = 0; r < rows; r++)
        {
            Assert.Equal(shard.RowIndices(r).ToArray(), idx[r].EnumerateArray().Select(v => v.GetInt32()));
            Assert.Equal(Bits(shard.RowValues(r).ToArray()), val[r].EnumerateArray().Select(v => v.GetUInt32()));
        }
        if (rows > 0) Assert.Contains(idx, row => row.GetArrayLength() == 0); // tokens where no feature fired are covered
    }

    /// <summary><paramref name="written"/>: the sweep.* keys; the file adds its digests, which must read back as the checksum states them.</summary>
    private static void AssertTable(JsonElement read, int rows, int batchRows, IReadOnlyDictionary<string, string>? written, string path)
    {
        var metadata = read.GetProperty("metadata");
        var digests = new ShardDigests.Stated(metadata.GetProperty(ShardDigests.KeyMetadataDigest).GetString()!,
            metadata.GetProperty(ShardDigests.KeyBatchDigests).GetString()!.Split(','));
        Assert.Equal(ShardDigests.OfMetadata(written!), digests.MetadataDigest);
        Assert.Equal(DenseShardFile.Checksum(path), digests.Checksum);
        written = new Dictionary<string, string>(written!)
        {
            [ShardDigests.KeyMetadataDigest] = digests.MetadataDigest, [ShardDigests.KeyBatchDigests] = string.Join(",", digests.Batches),
        };
        Assert.Equal("file", read.GetProperty("format").GetString());
        Assert.Equal(rows, read.GetProperty("rows").GetInt32());
        Assert.Equal(Math.Max(1, (rows + batchRows - 1) / batchRows), read.GetProperty("batches").GetInt32());
        // One "key=value" line per key, sorted, so a failure shows the key that differs.
        Assert.Equal(
            Lines(written!.Select(kv => (kv.Key, kv.Value))),
            Lines(read.GetProperty("metadata").EnumerateObject().Select(p => (p.Name, p.Value.GetString()!))));
    }

    private static string Lines(IEnumerable<(string Key, string Value)> metadata) =>
        string.Join('\n', metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}"));

    private static void AssertFields(JsonElement read, params object[] expected) =>
        Assert.Equal(JsonSerializer.Serialize(expected), JsonSerializer.Serialize(read.GetProperty("fields")));

    /// <summary>What read-shard.mjs prints for a field: every Sweep column and list item is non-nullable with no field metadata.</summary>
    private static object Field(string name, string type, params object[] children) =>
        new { name, type, nullable = false, metadata = new Dictionary<string, string>(), children };

    private static void AssertRows(int[] seq, int[] pos, int[] token, JsonElement columns)
    {
        Assert.Equal(seq, Ints(columns.GetProperty("seq")));
        Assert.Equal(pos, Ints(columns.GetProperty("pos")));
        Assert.Equal(token, Ints(columns.GetProperty("token")));
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(v => v.GetInt32()).ToArray();

    private static uint[] Bits(float[] values) => values.Select(BitConverter.SingleToUInt32Bits).ToArray();

    /// <summary>The bit patterns <paramref name="dtype"/> stores <paramref name="values"/> as (rounding checked in ShardDtypeTests).</summary>
    private static uint[] StoredBits(float[] values, string dtype) => dtype switch
    {
        ShardDtype.Float16 => values.Select(v => (uint)BitConverter.HalfToUInt16Bits((Half)v)).ToArray(),
        ShardDtype.BFloat16 => values.Select(v => (uint)ShardDtype.ToBFloat16(v)).ToArray(),
        _ => Bits(values),
    };
}
