using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace Sweep.Storage.Shards;

/// <summary>Arrow plumbing shared by the dense and sparse shard files: columns, buffers, metadata checks, errors.</summary>
internal static class ShardArrow
{
    public static ShardFormatException NotAShard(string path, string kind, string reason, Exception? inner = null) =>
        new($"{path}: not a Sweep {kind} shard: {reason}", inner);

    public static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();

    public static Int32Array Int32Column(int[] source, int start, int count) =>
        new(Buffer(source, start, count), ArrowBuffer.Empty, count, 0, 0);

    /// <summary>Items [<paramref name="start"/>, start + <paramref name="count"/>) of <paramref name="values"/> as an Arrow buffer, not copied.</summary>
    public static ArrowBuffer Buffer<T>(T[] values, int start, int count) where T : unmanaged =>
        new(new ArrayBytes<T>(values, start, count).Memory);

    public static void CopyInt32(string path, string kind, RecordBatch batch, string name, Span<int> target)
    {
        var column = (Int32Array)batch.Column(name);
        if (column.NullCount > 0) throw NotAShard(path, kind, $"column '{name}' holds nulls");
        column.Values.CopyTo(target);
    }

    /// <summary>The schema of an Arrow IPC file (its footer; the data is not read).</summary>
    public static Schema ReadSchema(string path, string kind)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: shard file not found", path);
        using var stream = File.OpenRead(path);
        try
        {
            using var reader = new ArrowFileReader(stream, leaveOpen: true);
            // Asking for the batch count reads the footer (and the schema in it), no record batch.
            _ = reader.RecordBatchCountAsync().GetAwaiter().GetResult();
            return reader.Schema;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw NotAShard(path, kind, $"not an Arrow IPC file ({OneLine(ex.Message)})", ex);
        }
    }

    /// <summary>The (start, count) row ranges of the record batches of a shard of <paramref name="rows"/> rows: at least one (empty) batch.</summary>
    public static IReadOnlyList<(int Start, int Count)> BatchRanges(int rows, int batchRows)
    {
        var ranges = new List<(int, int)>();
        var start = 0;
        do
        {
            var count = Math.Min(batchRows, rows - start);
            ranges.Add((start, count));
            start += count;
        } while (start < rows);
        return ranges;
    }

    /// <summary>
    /// The digests the file's metadata states, after checking the metadata against its own digest; null for a file
    /// without digests unless <paramref name="required"/>, when that is a <see cref="ShardFormatException"/>.
    /// </summary>
    public static ShardDigests.Stated? StatedDigests(string path, Schema schema, bool required)
    {
        var metadata = schema.Metadata ?? new Dictionary<string, string>();
        if (ShardDigests.Read(metadata) is not { } stated)
            return required ? throw new ShardFormatException($"{path}: carries no {ShardDigests.KeyBatchDigests} to verify it against (written by an older Sweep or another tool)") : null;
        ShardDigests.CheckMetadata(path, metadata, stated);
        return stated;
    }

    /// <summary>Checks every batch of a file against the digests it states.</summary>
    public static void CheckBatches(string path, IReadOnlyList<RecordBatch> batches, ShardDigests.Stated digests)
    {
        for (int i = 0; i < batches.Count; i++) ShardDigests.CheckBatch(path, batches[i], i, digests);
        ShardDigests.CheckCount(path, batches.Count, digests);
    }

    /// <summary>
    /// Reads a shard's record batches one at a time and checks each against its digest (the values are not decoded);
    /// returns the shard's checksum. <paramref name="checkSchema"/> applies the kind's column checks.
    /// </summary>
    public static string Verify(string path, string kind, Action<Schema> checkSchema)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: shard file not found", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        ArrowFileReader reader;
        RecordBatch? first;
        try
        {
            reader = new ArrowFileReader(stream, leaveOpen: true);
            first = reader.ReadNextRecordBatch();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw NotAShard(path, kind, $"not an Arrow IPC file ({OneLine(ex.Message)})", ex);
        }
        using (reader)
        {
            var batch = first;
            try
            {
                ParseMetadata(path, kind, reader.Schema);
                checkSchema(reader.Schema);
                var digests = StatedDigests(path, reader.Schema, required: true)!;
                int count = 0;
                while (batch is not null)
                {
                    ShardDigests.CheckBatch(path, batch, count++, digests);
                    batch.Dispose();
                    batch = null;
                    batch = reader.ReadNextRecordBatch();
                }
                ShardDigests.CheckCount(path, count, digests);
                return digests.Checksum;
            }
            catch (Exception ex) when (ex is not ShardFormatException and not OutOfMemoryException)
            {
                throw NotAShard(path, kind, $"unreadable record batch ({OneLine(ex.Message)})", ex);
            }
            finally
            {
                batch?.Dispose();
            }
        }
    }

    /// <summary>
    /// Parses the sweep.* metadata and checks what every reader needs: a known format version and dtype, the kind,
    /// a dtype the kind stores (sparse codes are float32), a positive width.
    /// </summary>
    public static ShardMetadata ParseMetadata(string path, string kind, Schema schema, string widthName = "width")
    {
        ShardMetadata metadata;
        try { metadata = ShardMetadata.FromDictionary(schema.Metadata); }
        catch (ShardFormatException ex) { throw NotAShard(path, kind, ex.Message, ex); }
        if (metadata.Kind != kind) throw NotAShard(path, kind, $"kind is '{metadata.Kind}', expected '{kind}'");
        if (kind == ShardMetadata.KindSparse && metadata.Dtype != ShardDtype.Float32)
            throw NotAShard(path, kind, $"dtype '{metadata.Dtype}' is not supported for sparse codes (expected float32)");
        if (metadata.Width <= 0) throw NotAShard(path, kind, $"{widthName} {metadata.Width} is not positive");
        return metadata;
    }
}
