using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Sweep.Storage.Shards;
using Xunit;

namespace Sweep.Storage.Tests;

public sealed class DenseShardFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sweep-shard-tests-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Round_trip_over_several_batches_keeps_every_value_bit_for_bit_and_the_metadata()
    {
        var shard = ShardTestData.Make(rows: 20_001, width: 5);
        var path = Path.Combine(_dir, "nested", "more", "shard-00003.arrow");

        var checksum = DenseShardFile.Write(path, shard, batchRows: 8192);
        var read = DenseShardFile.Read(path);

        Assert.Equal(3, CountBatches(path));
        Assert.Equal(shard.Metadata, read.Metadata);
        Assert.Equal(shard.Rows, read.Rows);
        Assert.Equal(shard.Seq, read.Seq);
        Assert.Equal(shard.Pos, read.Pos);
        Assert.Equal(shard.Token, read.Token);
        Assert.True(ShardTestData.BitwiseEqual(shard.Act, read.Act));
        Assert.True(float.IsNaN(read.Row(read.Rows - 1)[^1]));
        Assert.Equal(checksum, DenseShardFile.Checksum(path));
        Assert.Equal(checksum, DenseShardFile.Verify(path));
    }

    [Fact]
    public void Written_file_uses_standard_arrow_types_and_sweep_metadata_keys()
    {
        var path = Path.Combine(_dir, "s.arrow");
        DenseShardFile.Write(path, ShardTestData.Make(rows: 10, width: 4));

        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        using var batch = reader.ReadNextRecordBatch();
        var schema = reader.Schema;
        Assert.Equal(["seq", "pos", "token", "act"], schema.FieldsList.Select(f => f.Name));
        Assert.All(schema.FieldsList.Take(3), f => Assert.IsType<Int32Type>(f.DataType));
        var act = Assert.IsType<FixedSizeListType>(schema.GetFieldByName("act").DataType);
        Assert.Equal(4, act.ListSize);
        Assert.IsType<FloatType>(act.ValueDataType);
        Assert.All(schema.FieldsList, f => Assert.False(f.IsNullable));
        Assert.Equal(ShardMetadata.AllKeys.Append(ShardDigests.KeyBatchDigests).Append(ShardDigests.KeyMetadataDigest).Order(), schema.Metadata.Keys.Order());
        Assert.Equal("1", schema.Metadata["sweep.format_version"]);
        Assert.Equal("dense", schema.Metadata["sweep.kind"]);
    }

    [Fact]
    public void A_shard_with_no_rows_round_trips()
    {
        var path = Path.Combine(_dir, "empty.arrow");
        DenseShardFile.Write(path, ShardTestData.Make(rows: 0, width: 3));
        var read = DenseShardFile.Read(path);
        Assert.Equal(0, read.Rows);
        Assert.Empty(read.Act);
        Assert.Equal(3, read.Metadata.Width);
    }

    [Fact]
    public void Act_of_the_wrong_length_throws_before_writing_and_leaves_no_file()
    {
        var good = ShardTestData.Make(rows: 10, width: 4);
        var bad = good with { Act = new float[39] };
        var path = Path.Combine(_dir, "bad.arrow");

        var ex = Assert.Throws<ArgumentException>(() => DenseShardFile.Write(path, bad));

        Assert.Contains("act has 39 values", ex.Message);
        Assert.False(File.Exists(path));
        Assert.True(!Directory.Exists(_dir) || Directory.GetFileSystemEntries(_dir).Length == 0);
    }

    [Fact]
    public void A_failure_midway_removes_the_temp_file_and_keeps_the_previous_shard()
    {
        var path = Path.Combine(_dir, "shard.arrow");
        var previousChecksum = DenseShardFile.Write(path, ShardTestData.Make(rows: 5, width: 2));

        // Out-of-order rows in the third batch: the first two batches are already in the temp file when it throws.
        var shard = ShardTestData.Make(rows: 10_000, width: 2);
        shard.Pos[9_000] = shard.Pos[8_999];
        var ex = Assert.Throws<ArgumentException>(() => DenseShardFile.Write(path, shard, batchRows: 4096));

        Assert.Contains("row 9000", ex.Message);
        Assert.Equal(previousChecksum, DenseShardFile.Checksum(path));
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void Reading_a_file_that_is_not_arrow_gives_one_line_naming_the_file()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "notes.arrow");
        File.WriteAllText(path, "this is not\nan arrow file\n");

        var ex = Assert.Throws<ShardFormatException>(() => DenseShardFile.Read(path));

        Assert.StartsWith($"{path}: not a Sweep dense shard: not an Arrow IPC file", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void Reading_an_arrow_file_without_sweep_metadata_names_the_missing_keys()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "plain.arrow");
        var schema = new Schema.Builder().Field(new Field("x", Int32Type.Default, false)).Build();
        using (var stream = File.Create(path))
        using (var writer = new ArrowFileWriter(stream, schema))
        {
            var column = new Int32Array.Builder().AppendRange([1, 2, 3]).Build();
            writer.WriteRecordBatch(new RecordBatch(schema, [column], 3));
            writer.WriteEnd();
        }

        var ex = Assert.Throws<ShardFormatException>(() => DenseShardFile.Read(path));

        Assert.Equal($"{path}: not a Sweep dense shard: missing shard metadata key(s) {string.Join(", ", ShardMetadata.AllKeys)}", ex.Message);
    }

    [Fact]
    public void Reading_a_shard_whose_act_width_disagrees_with_the_metadata_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "liar.arrow");
        var real = ShardTestData.Metadata(width: 3);
        WriteEmptyFloat32Shard(path, real, real with { Width = 8 });

        var ex = Assert.Throws<ShardFormatException>(() => DenseShardFile.Read(path));
        Assert.Equal($"{path}: not a Sweep dense shard: column 'act' must be fixed_size_list<float32>[8] (sweep.width, sweep.dtype float32), found fixed_size_list<float32>[3]", ex.Message);
    }

    [Fact]
    public void Reading_a_shard_whose_act_type_disagrees_with_its_dtype_is_refused()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, "liar16.arrow");
        var real = ShardTestData.Metadata(width: 3);
        WriteEmptyFloat32Shard(path, real, real with { Dtype = ShardDtype.BFloat16 });

        var ex = Assert.Throws<ShardFormatException>(() => DenseShardFile.Read(path));
        Assert.Equal($"{path}: not a Sweep dense shard: column 'act' must be fixed_size_list<uint16>[3] (sweep.width, sweep.dtype bfloat16), found fixed_size_list<float32>[3]", ex.Message);
    }

    /// <summary>A file with the columns of a float32 shard described by <paramref name="actual"/> but the metadata of <paramref name="claimed"/>.</summary>
    private static void WriteEmptyFloat32Shard(string path, ShardMetadata actual, ShardMetadata claimed)
    {
        var schema = new Schema(DenseShardFile.CreateSchema(actual).FieldsList, DenseShardFile.CreateSchema(claimed).Metadata);
        using var stream = File.Create(path);
        using var writer = new ArrowFileWriter(stream, schema);
        var act = (FixedSizeListType)schema.GetFieldByName("act").DataType;
        IArrowArray[] columns =
        [
            new Int32Array.Builder().Build(), new Int32Array.Builder().Build(), new Int32Array.Builder().Build(),
            new FixedSizeListArray(act, 0, new FloatArray.Builder().Build(), ArrowBuffer.Empty),
        ];
        writer.WriteRecordBatch(new RecordBatch(schema, columns, 0));
        writer.WriteEnd();
    }

    [Fact]
    public void Metadata_lists_every_missing_key_and_round_trips_through_its_dictionary()
    {
        var metadata = ShardTestData.Metadata(width: 16);
        Assert.Equal(metadata, ShardMetadata.FromDictionary(metadata.ToDictionary()));

        var partial = metadata.ToDictionary().Where(kv => kv.Key is not ("sweep.site" or "sweep.width")).ToDictionary();
        var ex = Assert.Throws<ShardFormatException>(() => ShardMetadata.FromDictionary(partial));
        Assert.Equal("missing shard metadata key(s) sweep.site, sweep.width", ex.Message);

        var bad = metadata.ToDictionary().ToDictionary();
        bad["sweep.width"] = "wide";
        Assert.Contains("sweep.width must be an integer", Assert.Throws<ShardFormatException>(() => ShardMetadata.FromDictionary(bad)).Message);
    }

    [Fact]
    public void Cache_key_depends_on_what_determines_the_numbers_not_on_names()
    {
        var a = ShardTestData.Metadata(width: 16);
        Assert.Equal(a.CacheKey(), (a with { Model = "renamed", CodeVersion = "other" }).CacheKey());
        Assert.NotEqual(a.CacheKey(), (a with { Site = "blocks.1.hook_resid_post" }).CacheKey());
        Assert.NotEqual(a.CacheKey(), (a with { CorpusShardDigest = "sha256:other" }).CacheKey());
        Assert.NotEqual(a.CacheKey(), (a with { WeightsDigest = "sha256:other" }).CacheKey());
        Assert.Equal("float32", a.ComputeDtype);
        Assert.NotEqual(a.CacheKey(), (a with { ComputeDtype = "bfloat16" }).CacheKey());
        Assert.Equal("bfloat16", ShardMetadata.FromDictionary((a with { ComputeDtype = "bfloat16" }).ToDictionary()).ComputeDtype);
        Assert.Matches("^[0-9a-f]{64}$", a.CacheKey());
    }

    [Fact]
    public void Storage_dtype_is_part_of_the_cache_key_and_path_and_float32_keeps_the_key_it_had()
    {
        var a = ShardTestData.Metadata(width: 16);
        // SHA-256 of the version 1 key lines (docs/shard-format.md), as every float32 shard had before 16-bit storage.
        Assert.Equal("23e1b35ae98ce68a444acd2dc9b03dd507c2db73be38e22175366eef37cb201d", a.CacheKey());
        var all = ShardDtype.All.Select(dtype => a with { Dtype = dtype }).ToList();
        Assert.Equal(3, all.Select(m => m.CacheKey()).Distinct().Count());
        Assert.Equal(3, all.Select(m => StoreLayout.DenseShardPath("/store", m)).Distinct().Count());
        Assert.Equal([1, 2, 2], all.Select(m => m.FormatVersion));
    }

    [Theory]
    [InlineData("3", "float32", "written with shard format version 3; this Sweep reads up to version 2, upgrade Sweep")]
    [InlineData("0", "float32", "invalid shard format version 0")]
    [InlineData("2", "float64", "dtype 'float64' is not supported by this reader (expected float32, float16, bfloat16)")]
    [InlineData("1", "float16", "dtype 'float16' is written as shard format version 2, the file says 1")]
    [InlineData("2", "float32", "dtype 'float32' is written as shard format version 1, the file says 2")]
    public void Metadata_with_a_version_this_reader_cannot_trust_is_refused(string version, string dtype, string message)
    {
        var values = ShardTestData.Metadata(width: 4).ToDictionary().ToDictionary();
        (values["sweep.format_version"], values["sweep.dtype"]) = (version, dtype);
        Assert.Equal(message, Assert.Throws<ShardFormatException>(() => ShardMetadata.FromDictionary(values)).Message);
    }

    [Theory]
    [InlineData(ShardDtype.Float16, typeof(HalfFloatType))]
    [InlineData(ShardDtype.BFloat16, typeof(UInt16Type))]
    public void A_16_bit_shard_stores_act_as_its_arrow_type_and_reads_back_the_rounded_values(string dtype, Type itemType)
    {
        var shard = WithAwkwardValues(ShardTestData.Make(rows: 20_001, width: 5), dtype);
        var path = Path.Combine(_dir, $"{dtype}.arrow");

        var checksum = DenseShardFile.Write(path, shard, batchRows: 8192);
        var read = DenseShardFile.Read(path);

        Assert.Equal(3, CountBatches(path));
        Assert.Equal(shard.Metadata, read.Metadata);
        Assert.Equal(2, read.Metadata.FormatVersion);
        Assert.Equal(shard.Seq, read.Seq);
        Assert.Equal(shard.Pos, read.Pos);
        Assert.Equal(shard.Token, read.Token);
        ShardTestData.AssertSameValues(shard.Act.Select(v => ShardDtypeTests.Stored(v, dtype)).ToArray(), read.Act);
        Assert.Equal(checksum, DenseShardFile.Checksum(path));

        var schema = ReadSchema(path);
        var act = Assert.IsType<FixedSizeListType>(schema.GetFieldByName("act").DataType);
        Assert.Equal((5, itemType), (act.ListSize, act.ValueDataType.GetType()));
        Assert.False(act.ValueField.IsNullable);
        Assert.Equal(ShardMetadata.AllKeys.Append(ShardDigests.KeyBatchDigests).Append(ShardDigests.KeyMetadataDigest).Order(), schema.Metadata.Keys.Order());
        Assert.Equal((dtype, "2"), (schema.Metadata["sweep.dtype"], schema.Metadata["sweep.format_version"]));
    }

    [Theory]
    [InlineData(ShardDtype.Float32)]
    [InlineData(ShardDtype.Float16)]
    [InlineData(ShardDtype.BFloat16)]
    public void Values_rounded_in_memory_equal_what_the_file_reads_back(string dtype)
    {
        var shard = WithAwkwardValues(ShardTestData.Make(rows: 100, width: 7), dtype);
        ShardDtype.Round(shard.Act, dtype);
        var path = Path.Combine(_dir, "rounded.arrow");
        DenseShardFile.Write(path, shard);
        Assert.True(ShardTestData.BitwiseEqual(shard.Act, DenseShardFile.Read(path).Act));
    }

    [Fact]
    public void Sixteen_bit_shards_take_about_half_the_disk_of_float32()
    {
        long Size(string dtype)
        {
            var path = Path.Combine(_dir, $"size-{dtype}.arrow");
            DenseShardFile.Write(path, WithAwkwardValues(ShardTestData.Make(rows: 2048, width: 256), dtype));
            return new FileInfo(path).Length;
        }
        var float32 = Size(ShardDtype.Float32);
        Assert.InRange(Size(ShardDtype.Float16) / (double)float32, 0.5, 0.52);
        Assert.InRange(Size(ShardDtype.BFloat16) / (double)float32, 0.5, 0.52);
    }

    /// <summary><paramref name="shard"/> stored as <paramref name="dtype"/>, its first values the awkward ones of <see cref="ShardDtypeTests.Awkward"/>.</summary>
    private static DenseShard WithAwkwardValues(DenseShard shard, string dtype)
    {
        ShardDtypeTests.Awkward.AsSpan().CopyTo(shard.Act);
        return shard with { Metadata = shard.Metadata with { Dtype = dtype } };
    }

    private static Schema ReadSchema(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        reader.ReadNextRecordBatch()?.Dispose();
        return reader.Schema;
    }

    private static int CountBatches(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        var count = 0;
        while (reader.ReadNextRecordBatch() is { } batch) { batch.Dispose(); count++; }
        return count;
    }
}

public sealed class StoreLayoutTests
{
    [Fact]
    public void Shards_live_under_model_and_site_with_a_zero_padded_index_and_their_cache_key()
    {
        var metadata = ShardTestData.Metadata(width: 4) with { Model = "gpt2/small", ShardIndex = 12 };
        Assert.Equal(Path.GetFullPath($"/store/shards/gpt2_small/blocks.0.hook_resid_post/shard-00012-{metadata.CacheKey()[..16]}.arrow"),
            StoreLayout.DenseShardPath("/store", metadata));
        var otherWeights = metadata with { WeightsDigest = new string('f', 64) };
        Assert.NotEqual(StoreLayout.DenseShardPath("/store", metadata), StoreLayout.DenseShardPath("/store", otherWeights));
        Assert.Equal("_..", StoreLayout.SafeSegment(".."));
    }
}
