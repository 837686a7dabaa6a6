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
        new(Buffer<int>(source.AsSpan(start, count)), ArrowBuffer.Empty, count, 0, 0);

    public static ArrowBuffer Buffer<T>(ReadOnlySpan<T> values) where T : struct => new(MemoryMarshal.AsBytes(values).ToArray());

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
            reader.ReadNextRecordBatch()?.Dispose();
            return reader.Schema;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            throw NotAShard(path, kind, $"not an Arrow IPC file ({OneLine(ex.Message)})", ex);
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
