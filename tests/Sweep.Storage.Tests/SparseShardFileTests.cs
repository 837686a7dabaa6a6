using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Sweep.Storage.Shards;

namespace Sweep.Storage.Tests;

public sealed class SparseShardFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sweep-sparse-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Round_trip_over_several_batches_keeps_every_code_and_the_sae_identity()
    {
        var shard = ShardTestData.MakeSparse(rows: 5000, dSae: 4096, maxL0: 12) with { ReconstructionSse = 1234.5678901234567 };
        var path = Path.Combine(_dir, "a", "sparse.arrow");
        var checksum = SparseShardFile.Write(path, shard, batchRows: 1500);
        var read = SparseShardFile.Read(path);

        Assert.Equal(shard.Metadata, read.Metadata);
        Assert.Equal(shard.Metadata.CacheKey(), read.Metadata.CacheKey());
        Assert.Equal(shard.Seq, read.Seq);
        Assert.Equal(shard.Pos, read.Pos);
        Assert.Equal(shard.Token, read.Token);
        Assert.Equal(shard.Offsets, read.Offsets);
        Assert.Equal(shard.Indices, read.Indices);
        Assert.Equal(1234.5678901234567, read.ReconstructionSse);
        Assert.True(ShardTestData.BitwiseEqual(shard.Values, read.Values));
        Assert.Equal(checksum, SparseShardFile.Checksum(path));
        Assert.Equal(checksum, SparseShardFile.Verify(path));
        Assert.Equal("res-sae", SparseShardFile.ReadMetadata(path).Sae!.Name);
    }

    [Fact]
    public void File_uses_plain_arrow_lists_and_sparse_metadata_keys()
    {
        var path = Path.Combine(_dir, "s.arrow");
        SparseShardFile.Write(path, ShardTestData.MakeSparse(rows: 20, dSae: 64, maxL0: 4));
        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        using var batch = reader.ReadNextRecordBatch();
        var schema = reader.Schema;
        Assert.Equal(["seq", "pos", "token", "idx", "val"], schema.FieldsList.Select(f => f.Name));
        Assert.IsType<Int32Type>(Assert.IsType<ListType>(schema.GetFieldByName("idx").DataType).ValueDataType);
        Assert.IsType<FloatType>(Assert.IsType<ListType>(schema.GetFieldByName("val").DataType).ValueDataType);
        Assert.Equal("sparse", schema.Metadata["sweep.kind"]);
        Assert.Equal("64", schema.Metadata["sweep.width"]);
        Assert.Equal("sha256:sae", schema.Metadata["sweep.sae_digest"]);
        Assert.Equal("blocks.0.hook_resid_post", schema.Metadata["sweep.sae_hook"]);
        Assert.Equal("blocks.0.hook_resid_post/sae/res-sae", schema.Metadata["sweep.site"]);
    }

    [Fact]
    public void Empty_shard_round_trips()
    {
        var empty = new SparseShard(ShardTestData.SparseMetadata(8), 0, [], [], [], [0], [], []);
        var path = Path.Combine(_dir, "e.arrow");
        SparseShardFile.Write(path, empty);
        var read = SparseShardFile.Read(path);
        Assert.Equal(0, read.Rows);
        Assert.Equal([0], read.Offsets);
    }

    [Fact]
    public void Cache_key_differs_from_the_dense_one_and_changes_with_the_sae_digest()
    {
        var sparse = ShardTestData.SparseMetadata(64);
        var other = sparse with { Sae = sparse.Sae! with { Digest = "sha256:other" } };
        Assert.NotEqual(sparse.CacheKey(), other.CacheKey());
        Assert.NotEqual(sparse.CacheKey(), (sparse with { Kind = "dense", Sae = null }).CacheKey());
    }

    [Fact]
    public void Codes_of_16_bit_activations_name_their_input_dtype_in_the_key_and_the_file_and_float32_files_do_not()
    {
        var shard = ShardTestData.MakeSparse(rows: 20, dSae: 64, maxL0: 4);
        var fromHalf = shard with { Metadata = shard.Metadata with { Sae = shard.Metadata.Sae! with { InputDtype = ShardDtype.Float16 } } };
        Assert.NotEqual(shard.Metadata.CacheKey(), fromHalf.Metadata.CacheKey());

        var (plainPath, halfPath) = (Path.Combine(_dir, "plain.arrow"), Path.Combine(_dir, "half.arrow"));
        SparseShardFile.Write(plainPath, shard);
        SparseShardFile.Write(halfPath, fromHalf);

        Assert.Equal(shard.Metadata, SparseShardFile.ReadMetadata(plainPath));
        Assert.Equal(fromHalf.Metadata, SparseShardFile.ReadMetadata(halfPath));
        Assert.Equal(1, fromHalf.Metadata.FormatVersion);   // the codes themselves are float32
        Assert.False(SparseShardFile.CreateSchema(shard.Metadata, double.NaN).Metadata.ContainsKey(SaeIdentity.KeyInputDtype));
        Assert.Equal("float16", SparseShardFile.CreateSchema(fromHalf.Metadata, double.NaN).Metadata[SaeIdentity.KeyInputDtype]);
    }

    [Fact]
    public void Writer_refuses_unsorted_or_out_of_range_features_and_leaves_no_file()
    {
        var shard = ShardTestData.MakeSparse(rows: 3, dSae: 16, maxL0: 0);
        var bad = shard with { Offsets = [0, 2, 2, 2], Indices = [5, 3], Values = [1f, 2f] };
        var path = Path.Combine(_dir, "bad.arrow");
        Assert.Contains("strictly ascending", Assert.Throws<ArgumentException>(() => SparseShardFile.Write(path, bad)).Message);
        var outOfRange = shard with { Offsets = [0, 1, 1, 1], Indices = [16], Values = [1f] };
        Assert.Contains("outside 0..15", Assert.Throws<ArgumentException>(() => SparseShardFile.Write(path, outOfRange)).Message);
        Assert.False(Directory.Exists(_dir) && Directory.EnumerateFileSystemEntries(_dir).Any());
    }

    [Fact]
    public void Readers_refuse_the_other_kind_and_non_arrow_files_with_the_file_name()
    {
        var dense = Path.Combine(_dir, "dense.arrow");
        DenseShardFile.Write(dense, ShardTestData.Make(rows: 4, width: 3));
        var e1 = Assert.Throws<ShardFormatException>(() => SparseShardFile.Read(dense));
        Assert.Contains($"{dense}: not a Sweep sparse shard: kind is 'dense'", e1.Message);

        var sparse = Path.Combine(_dir, "sparse.arrow");
        SparseShardFile.Write(sparse, ShardTestData.MakeSparse(rows: 4, dSae: 8, maxL0: 2));
        Assert.Contains("kind is 'sparse', expected 'dense'", Assert.Throws<ShardFormatException>(() => DenseShardFile.Read(sparse)).Message);

        var junk = Path.Combine(_dir, "junk.arrow");
        File.WriteAllText(junk, "not arrow at all");
        Assert.Contains("not an Arrow IPC file", Assert.Throws<ShardFormatException>(() => SparseShardFile.Read(junk)).Message);
    }

    [Fact]
    public void Reader_refuses_a_sparse_file_without_the_sae_keys()
    {
        var path = Path.Combine(_dir, "nosae.arrow");
        var shard = ShardTestData.MakeSparse(rows: 2, dSae: 8, maxL0: 2);
        var schema = new Schema.Builder()
            .Field(new Field("seq", Int32Type.Default, false)).Field(new Field("pos", Int32Type.Default, false))
            .Field(new Field("token", Int32Type.Default, false))
            .Field(new Field("idx", new ListType(new Field("item", Int32Type.Default, false)), false))
            .Field(new Field("val", new ListType(new Field("item", FloatType.Default, false)), false));
        foreach (var (k, v) in shard.Metadata.ToDictionary().Where(kv => !kv.Key.StartsWith("sweep.sae_"))) schema.Metadata(k, v);
        Directory.CreateDirectory(_dir);
        using (var stream = File.Create(path))
        using (var writer = new ArrowFileWriter(stream, schema.Build()))
        {
            writer.WriteStart();
            writer.WriteEnd();
        }
        var e = Assert.Throws<ShardFormatException>(() => SparseShardFile.Read(path));
        Assert.Contains("missing sparse shard metadata key(s) sweep.sae_name", e.Message);
    }
}
