using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;

namespace Sweep.Storage.Shards;

/// <summary>
/// Reads and writes sparse SAE-code shards: Arrow IPC files with columns <c>seq</c>, <c>pos</c>,
/// <c>token</c> (int32), <c>idx</c> (list&lt;int32&gt;: ascending feature indices of the token's non-zero
/// codes) and <c>val</c> (list&lt;float32&gt;: their values), plus <see cref="ShardMetadata"/> with kind
/// <c>sparse</c> and the SAE's identity in the schema metadata. Format: docs/shard-format.md.
/// </summary>
public static class SparseShardFile
{
    private const string Kind = ShardMetadata.KindSparse;
    public const int DefaultBatchRows = 8192;

    /// <summary>The schema of a sparse shard: its columns and <c>sweep.*</c> metadata (the digests a written file adds aside).</summary>
    public static Schema CreateSchema(ShardMetadata metadata, double reconstructionSse = double.NaN) => CreateSchema(Keys(metadata, reconstructionSse));

    private static Dictionary<string, string> Keys(ShardMetadata metadata, double reconstructionSse)
    {
        var keys = metadata.ToDictionary().ToDictionary(kv => kv.Key, kv => kv.Value);
        if (!double.IsNaN(reconstructionSse))
            keys[SparseShard.KeyReconstructionSse] = reconstructionSse.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        return keys;
    }

    private static Schema CreateSchema(IReadOnlyDictionary<string, string> keys)
    {
        var builder = new Schema.Builder()
            .Field(new Field("seq", Int32Type.Default, nullable: false))
            .Field(new Field("pos", Int32Type.Default, nullable: false))
            .Field(new Field("token", Int32Type.Default, nullable: false))
            .Field(new Field("idx", IdxType, nullable: false))
            .Field(new Field("val", ValType, nullable: false));
        foreach (var (key, value) in keys) builder.Metadata(key, value);
        return builder.Build();
    }

    private static ListType IdxType => new(new Field("item", Int32Type.Default, nullable: false));
    private static ListType ValType => new(new Field("item", FloatType.Default, nullable: false));

    /// <summary>
    /// Writes <paramref name="shard"/> atomically (temp file beside it, fsync, rename) with the digest of every record
    /// batch in its metadata (<see cref="ShardDigests"/>), and returns the shard's checksum. On failure nothing is left at
    /// <paramref name="path"/>.
    /// </summary>
    public static string Write(string path, SparseShard shard, int batchRows = DefaultBatchRows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchRows, 1);
        shard.Validate();
        CheckOrder(shard);
        var ranges = ShardArrow.BatchRanges(shard.Rows, batchRows);
        var bare = Keys(shard.Metadata, shard.ReconstructionSse);
        var bareSchema = CreateSchema(bare);
        var digests = ranges.Select(r =>
        {
            using var batch = CreateBatch(bareSchema, shard, r.Start, r.Count);
            return ShardDigests.OfBatch(batch);
        }).ToList();
        var keys = ShardDigests.AddTo(bare, digests);
        var schema = CreateSchema(keys);
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

    /// <summary>Reads a whole sparse shard. Throws <see cref="ShardFormatException"/> naming the file when it is not one.</summary>
    public static SparseShard Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: shard file not found", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        var batches = new List<RecordBatch>();
        try
        {
            Schema schema;
            ArrowFileReader reader;
            try
            {
                reader = new ArrowFileReader(stream, leaveOpen: true);
                if (reader.ReadNextRecordBatch() is { } first) batches.Add(first);
                schema = reader.Schema;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                throw NotAShard(path, $"not an Arrow IPC file ({ShardArrow.OneLine(ex.Message)})", ex);
            }
            using (reader)
            {
                var metadata = ReadMetadata(path, schema);
                CheckColumns(path, schema);
                var digests = ShardArrow.StatedDigests(path, schema, required: false);
                try
                {
                    while (batches.Count > 0 && reader.ReadNextRecordBatch() is { } batch) batches.Add(batch);
                    if (digests is not null) ShardArrow.CheckBatches(path, batches, digests);
                }
                catch (Exception ex) when (ex is not ShardFormatException and not OutOfMemoryException)
                {
                    throw NotAShard(path, $"unreadable record batch ({ShardArrow.OneLine(ex.Message)})", ex);
                }
                return Assemble(path, metadata, batches) with { ReconstructionSse = Sse(schema) };
            }
        }
        finally
        {
            foreach (var batch in batches) batch.Dispose();
        }
    }

    /// <summary>Reads only the metadata (the footer's schema, not the data).</summary>
    public static ShardMetadata ReadMetadata(string path) => ReadMetadata(path, ShardArrow.ReadSchema(path, Kind));

    /// <summary>The shard's checksum from its metadata alone (see <see cref="DenseShardFile.Checksum"/>).</summary>
    public static string Checksum(string path) => ShardArrow.StatedDigests(path, ShardArrow.ReadSchema(path, Kind), required: true)!.Checksum;

    /// <summary>Reads every record batch and checks it against its digest; returns the checksum (see <see cref="DenseShardFile.Verify"/>).</summary>
    public static string Verify(string path) => ShardArrow.Verify(path, Kind, schema => CheckColumns(path, schema));

    private static double Sse(Schema schema) =>
        schema.Metadata is { } m && m.TryGetValue(SparseShard.KeyReconstructionSse, out var text)
        && double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : double.NaN;

    private static void CheckOrder(SparseShard shard)
    {
        for (var row = 1; row < shard.Rows; row++)
        {
            var (s0, p0, s1, p1) = (shard.Seq[row - 1], shard.Pos[row - 1], shard.Seq[row], shard.Pos[row]);
            if (s1 < s0 || (s1 == s0 && p1 <= p0))
                throw new ArgumentException(
                    $"shard rows must be in strictly ascending (seq, pos) order: row {row} (seq {s1}, pos {p1}) follows (seq {s0}, pos {p0})");
        }
    }

    private static RecordBatch CreateBatch(Schema schema, SparseShard shard, int start, int count)
    {
        int first = shard.Offsets[start], last = shard.Offsets[start + count];
        // Offsets of this batch start at 0: each batch is self-contained.
        var offsets = new int[count + 1];
        for (int i = 0; i <= count; i++) offsets[i] = shard.Offsets[start + i] - first;
        var idxValues = new Int32Array(ShardArrow.Buffer(shard.Indices, first, last - first), ArrowBuffer.Empty, last - first, 0, 0);
        var valValues = new FloatArray(ShardArrow.Buffer(shard.Values, first, last - first), ArrowBuffer.Empty, last - first, 0, 0);
        IArrowArray[] columns =
        [
            ShardArrow.Int32Column(shard.Seq, start, count),
            ShardArrow.Int32Column(shard.Pos, start, count),
            ShardArrow.Int32Column(shard.Token, start, count),
            new ListArray(IdxType, count, ShardArrow.Buffer(offsets, 0, offsets.Length), idxValues, ArrowBuffer.Empty, 0, 0),
            new ListArray(ValType, count, ShardArrow.Buffer(offsets, 0, offsets.Length), valValues, ArrowBuffer.Empty, 0, 0),
        ];
        return new RecordBatch(schema, columns, count);
    }

    private static void CheckColumns(string path, Schema schema)
    {
        foreach (var name in new[] { "seq", "pos", "token" })
        {
            var field = schema.GetFieldByName(name) ?? throw NotAShard(path, $"column '{name}' is missing");
            if (field.DataType is not Int32Type) throw NotAShard(path, $"column '{name}' is {field.DataType.Name}, expected int32");
        }
        var idx = schema.GetFieldByName("idx") ?? throw NotAShard(path, "column 'idx' is missing");
        if (idx.DataType is not ListType { ValueDataType: Int32Type }) throw NotAShard(path, $"column 'idx' must be list<int32>, found {idx.DataType.Name}");
        var val = schema.GetFieldByName("val") ?? throw NotAShard(path, "column 'val' is missing");
        if (val.DataType is not ListType { ValueDataType: FloatType }) throw NotAShard(path, $"column 'val' must be list<float32>, found {val.DataType.Name}");
    }

    private static SparseShard Assemble(string path, ShardMetadata metadata, List<RecordBatch> batches)
    {
        long rowsTotal = batches.Sum(b => (long)b.Length);
        long codesTotal = 0;
        foreach (var batch in batches)
        {
            var idx = (ListArray)batch.Column("idx");
            var val = (ListArray)batch.Column("val");
            if (idx.NullCount > 0 || val.NullCount > 0) throw NotAShard(path, "columns 'idx'/'val' hold nulls");
            if (!idx.ValueOffsets.SequenceEqual(val.ValueOffsets)) throw NotAShard(path, "columns 'idx' and 'val' have different list lengths");
            codesTotal += idx.ValueOffsets[^1] - idx.ValueOffsets[0];
        }
        if (rowsTotal >= int.MaxValue || codesTotal > int.MaxValue) throw NotAShard(path, $"{rowsTotal} rows with {codesTotal} codes are too many to load at once");
        int rows = (int)rowsTotal;
        var (seq, pos, token) = (new int[rows], new int[rows], new int[rows]);
        var offsets = new int[rows + 1];
        var indices = new int[codesTotal];
        var values = new float[codesTotal];

        int at = 0, codeAt = 0;
        foreach (var batch in batches)
        {
            int n = batch.Length;
            ShardArrow.CopyInt32(path, Kind, batch, "seq", seq.AsSpan(at, n));
            ShardArrow.CopyInt32(path, Kind, batch, "pos", pos.AsSpan(at, n));
            ShardArrow.CopyInt32(path, Kind, batch, "token", token.AsSpan(at, n));
            var idx = (ListArray)batch.Column("idx");
            var val = (ListArray)batch.Column("val");
            var listOffsets = idx.ValueOffsets;
            int first = listOffsets[0], count = listOffsets[n] - first;
            ((Int32Array)idx.Values).Values.Slice(first, count).CopyTo(indices.AsSpan(codeAt, count));
            ((FloatArray)val.Values).Values.Slice(val.ValueOffsets[0], count).CopyTo(values.AsSpan(codeAt, count));
            for (int r = 0; r < n; r++) offsets[at + r + 1] = codeAt + listOffsets[r + 1] - first;
            at += n;
            codeAt += count;
        }
        var shard = new SparseShard(metadata, rows, seq, pos, token, offsets, indices, values);
        try { shard.Validate(); }
        catch (ArgumentException ex) { throw NotAShard(path, ex.Message, ex); }
        return shard;
    }

    private static ShardFormatException NotAShard(string path, string reason, Exception? inner = null) =>
        ShardArrow.NotAShard(path, Kind, reason, inner);

    private static ShardMetadata ReadMetadata(string path, Schema schema) => ShardArrow.ParseMetadata(path, Kind, schema, "width (d_sae)");
}
