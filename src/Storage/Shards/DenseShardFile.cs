using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Sweep.Storage.Shards;

/// <summary>
/// Reads and writes dense activation shards: Arrow IPC files with columns
/// <c>seq</c>, <c>pos</c>, <c>token</c> (int32) and <c>act</c> (FixedSizeList[width] of float32, float16 or
/// bfloat16 bits as uint16: <see cref="ShardDtype"/>), plus <see cref="ShardMetadata"/> in the schema metadata.
/// Reading always gives float32. Format: docs/shard-format.md.
/// </summary>
public static class DenseShardFile
{
    private const string Kind = ShardMetadata.KindDense;
    public const int DefaultBatchRows = 8192;
    public const string Extension = ".arrow";

    /// <summary>The schema of a shard of <paramref name="metadata"/>: its columns and <c>sweep.*</c> metadata (the digests a written file adds aside).</summary>
    public static Schema CreateSchema(ShardMetadata metadata) => CreateSchema(metadata, metadata.ToDictionary());

    private static Schema CreateSchema(ShardMetadata metadata, IReadOnlyDictionary<string, string> keys)
    {
        var builder = new Schema.Builder()
            .Field(new Field("seq", Int32Type.Default, nullable: false))
            .Field(new Field("pos", Int32Type.Default, nullable: false))
            .Field(new Field("token", Int32Type.Default, nullable: false))
            .Field(new Field("act", ActType(metadata), nullable: false));
        foreach (var (key, value) in keys) builder.Metadata(key, value);
        return builder.Build();
    }

    /// <summary>
    /// Writes <paramref name="shard"/> to <paramref name="path"/> atomically (temp file in the same directory, fsync,
    /// rename) with the digest of every record batch in its metadata (<see cref="ShardDigests"/>), and returns the
    /// shard's checksum. On any failure no file is left at <paramref name="path"/> (an existing file there is kept) and
    /// the temp file is removed.
    /// </summary>
    public static string Write(string path, DenseShard shard, int batchRows = DefaultBatchRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRows, 1);
        shard.Validate();
        var ranges = ShardArrow.BatchRanges(shard.Rows, batchRows);
        foreach (var (start, count) in ranges) CheckOrder(shard, start, count);
        // The metadata (written first) carries the batches' digests: each batch is built once to hash it, once to write it.
        var bare = CreateSchema(shard.Metadata);
        var digests = ranges.Select(r =>
        {
            using var batch = CreateBatch(bare, shard, r.Start, r.Count);
            return ShardDigests.OfBatch(batch);
        }).ToList();
        var keys = ShardDigests.AddTo(shard.Metadata.ToDictionary(), digests);
        var schema = CreateSchema(shard.Metadata, keys);
        AtomicFile.Write(path, stream =>
        {
            using var writer = new ArrowFileWriter(stream, schema, leaveOpen: true);
            foreach (var (start, count) in ranges)
            {
                using var batch = CreateBatch(schema, shard, start, count);
                writer.WriteRecordBatch(batch);
            }
            writer.WriteEnd();
        });
        return ShardDigests.Read(keys)!.Checksum;
    }

    /// <summary>Reads a whole shard (any number of record batches). Throws <see cref="ShardFormatException"/> naming the file when it is not a Sweep dense shard.</summary>
    public static DenseShard Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: shard file not found", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);

        ArrowFileReader reader;
        Schema schema;
        RecordBatch? first;
        try
        {
            reader = new ArrowFileReader(stream, leaveOpen: true);
            first = reader.ReadNextRecordBatch();
            schema = reader.Schema;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw NotAShard(path, $"not an Arrow IPC file ({ShardArrow.OneLine(ex.Message)})", ex);
        }

        using (reader)
        {
            ShardMetadata metadata;
            ShardDigests.Stated? digests;
            try
            {
                metadata = ReadMetadata(path, schema);
                CheckColumns(path, schema, metadata);
                digests = ShardArrow.StatedDigests(path, schema, required: false);
            }
            catch
            {
                first?.Dispose();
                throw;
            }

            var batches = new List<RecordBatch>();
            if (first is not null) batches.Add(first);
            try
            {
                while (first is not null && reader.ReadNextRecordBatch() is { } batch) batches.Add(batch);
                if (digests is not null) ShardArrow.CheckBatches(path, batches, digests);
                return Assemble(path, metadata, batches);
            }
            catch (Exception ex) when (ex is not ShardFormatException and not OutOfMemoryException)
            {
                throw NotAShard(path, $"unreadable record batch ({ShardArrow.OneLine(ex.Message)})", ex);
            }
            finally
            {
                foreach (var batch in batches) batch.Dispose();
            }
        }
    }

    /// <summary>Reads only the schema metadata of a shard (cheap: the footer, not the data).</summary>
    public static ShardMetadata ReadMetadata(string path) => ReadMetadata(path, ShardArrow.ReadSchema(path, Kind));

    /// <summary>
    /// The shard's checksum (what the shards catalog records), from its metadata alone: cheap, and it checks only the
    /// metadata; <see cref="Verify"/> checks every value. Throws <see cref="ShardFormatException"/> for a file without
    /// digests or whose metadata does not match its digest.
    /// </summary>
    public static string Checksum(string path) => ShardArrow.StatedDigests(path, ShardArrow.ReadSchema(path, Kind), required: true)!.Checksum;

    /// <summary>
    /// Reads every record batch and checks it against its digest, without decoding the values; returns the checksum.
    /// Throws <see cref="ShardFormatException"/> (<see cref="ShardDamagedException"/> for a digest that does not match)
    /// naming the file when it is not an intact Sweep dense shard with digests.
    /// </summary>
    public static string Verify(string path) => ShardArrow.Verify(path, Kind, schema => CheckColumns(path, schema, ReadMetadata(path, schema)));

    private static FixedSizeListType ActType(ShardMetadata metadata) =>
        new(new Field("item", ShardDtype.ArrowType(metadata.Dtype), nullable: false), metadata.Width);

    private static void CheckOrder(DenseShard shard, int start, int count)
    {
        for (var row = Math.Max(start, 1); row < start + count; row++)
        {
            var (s0, p0, s1, p1) = (shard.Seq[row - 1], shard.Pos[row - 1], shard.Seq[row], shard.Pos[row]);
            if (s1 < s0 || (s1 == s0 && p1 <= p0))
                throw new ArgumentException(
                    $"shard rows must be in strictly ascending (seq, pos) order: row {row} (seq {s1}, pos {p1}) follows (seq {s0}, pos {p0})");
        }
    }

    private static RecordBatch CreateBatch(Schema schema, DenseShard shard, int start, int count)
    {
        var width = shard.Metadata.Width;
        var values = ShardDtype.Encode(shard.Act, start * width, count * width, shard.Metadata.Dtype);
        IArrowArray[] columns =
        [
            ShardArrow.Int32Column(shard.Seq, start, count),
            ShardArrow.Int32Column(shard.Pos, start, count),
            ShardArrow.Int32Column(shard.Token, start, count),
            new FixedSizeListArray(ActType(shard.Metadata), count, values, ArrowBuffer.Empty, 0, 0),
        ];
        return new RecordBatch(schema, columns, count);
    }

    private static void CheckColumns(string path, Schema schema, ShardMetadata metadata)
    {
        foreach (var name in new[] { "seq", "pos", "token" })
        {
            var field = schema.GetFieldByName(name) ?? throw NotAShard(path, $"column '{name}' is missing");
            if (field.DataType is not Int32Type) throw NotAShard(path, $"column '{name}' is {field.DataType.Name}, expected int32");
        }
        var act = schema.GetFieldByName("act") ?? throw NotAShard(path, "column 'act' is missing");
        var expected = ActType(metadata);
        if (act.DataType is not FixedSizeListType list || list.ValueDataType.TypeId != expected.ValueDataType.TypeId || list.ListSize != expected.ListSize)
            throw NotAShard(path, $"column 'act' must be {Describe(expected)} (sweep.width, sweep.dtype {metadata.Dtype}), found {Describe(act.DataType)}");
    }

    private static DenseShard Assemble(string path, ShardMetadata metadata, List<RecordBatch> batches)
    {
        var width = metadata.Width;
        long total = batches.Sum(b => (long)b.Length);
        if (total * width > int.MaxValue) throw NotAShard(path, $"{total} rows x width {width} is too large to load at once");
        var rows = (int)total;
        var (seq, pos, token, act) = (new int[rows], new int[rows], new int[rows], new float[rows * width]);

        var at = 0;
        foreach (var batch in batches)
        {
            var n = batch.Length;
            ShardArrow.CopyInt32(path, Kind, batch, "seq", seq.AsSpan(at, n));
            ShardArrow.CopyInt32(path, Kind, batch, "pos", pos.AsSpan(at, n));
            ShardArrow.CopyInt32(path, Kind, batch, "token", token.AsSpan(at, n));
            var list = (FixedSizeListArray)batch.Column("act");
            if (list.NullCount > 0 || list.Values.NullCount > 0) throw NotAShard(path, "column 'act' holds nulls");
            ShardDtype.Decode(list.Values, list.Offset * width, act.AsSpan(at * width, n * width));
            at += n;
        }
        return new DenseShard(metadata, rows, seq, pos, token, act);
    }

    private static string Describe(IArrowType type) => type switch
    {
        FixedSizeListType l => $"fixed_size_list<{Describe(l.ValueDataType)}>[{l.ListSize}]",
        FloatType => "float32",
        HalfFloatType => "float16",
        UInt16Type => "uint16",
        DoubleType => "float64",
        _ => type.Name,
    };

    private static ShardFormatException NotAShard(string path, string reason, Exception? inner = null) =>
        ShardArrow.NotAShard(path, Kind, reason, inner);

    private static ShardMetadata ReadMetadata(string path, Schema schema) => ShardArrow.ParseMetadata(path, Kind, schema);
}
