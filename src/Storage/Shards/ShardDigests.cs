using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sweep.Storage.Shards;

/// <summary>
/// The digests a shard carries in its schema metadata, so that every reader can tell a damaged file from a good one
/// without re-hashing the whole file and without a database (docs/shard-format.md, "Digests"):
/// <code>
/// sweep.batch_digests    one XXH3-128 (32 lowercase hex digits) per record batch, in file order, comma-separated, over
///                        the batch's value bytes: for each column in schema order, its values as stored, little-endian
///                        (int32 columns; act's items in their stored dtype; a list column's int32 offsets then its items)
/// sweep.metadata_digest  XXH3-128 over the other sweep.* keys, sorted by key (ordinal), as "key=value\n" lines (UTF-8)
/// checksum               SHA-256 (lowercase hex) of "{metadata_digest}\n{batch_digests}": the shard's checksum in the
///                        shards catalog, derived from the footer alone, equal for every file that verifies
/// </code>
/// A batch is checked when it is read, against the digest the writer computed from the same bytes before writing them,
/// so a changed value, a changed row count or a batch read from the wrong place does not verify. Bytes no reader
/// interprets (alignment padding) are not covered: changing them changes nothing any reader sees.
/// </summary>
public static class ShardDigests
{
    public const string KeyBatchDigests = "sweep.batch_digests";
    public const string KeyMetadataDigest = "sweep.metadata_digest";

    /// <summary>The digests of one file as its metadata states them.</summary>
    public sealed record Stated(string MetadataDigest, IReadOnlyList<string> Batches)
    {
        /// <summary>The checksum the shards catalog records for a file with these digests.</summary>
        public string Checksum => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(MetadataDigest + "\n" + string.Join(",", Batches))));
    }

    /// <summary>The digest of one record batch's value bytes (every column, in order).</summary>
    public static string OfBatch(RecordBatch batch)
    {
        var hash = new XxHash128();
        for (int c = 0; c < batch.ColumnCount; c++) Append(hash, batch.Column(c), 0, batch.Length);
        return Convert.ToHexStringLower(hash.GetCurrentHash());
    }

    /// <summary>The digest of a shard's <c>sweep.*</c> metadata, the two digest keys excepted.</summary>
    public static string OfMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        var text = new StringBuilder();
        foreach (var (key, value) in metadata.Where(kv => kv.Key.StartsWith("sweep.", StringComparison.Ordinal) && kv.Key is not (KeyBatchDigests or KeyMetadataDigest))
                     .OrderBy(kv => kv.Key, StringComparer.Ordinal))
            text.Append(key).Append('=').Append(value).Append('\n');
        return Convert.ToHexStringLower(XxHash128.Hash(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>The metadata with the digests of <paramref name="batchDigests"/> and of the metadata itself added.</summary>
    public static IReadOnlyDictionary<string, string> AddTo(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<string> batchDigests)
    {
        var withDigests = metadata.ToDictionary(kv => kv.Key, kv => kv.Value);
        withDigests[KeyMetadataDigest] = OfMetadata(metadata);
        withDigests[KeyBatchDigests] = string.Join(",", batchDigests);
        return withDigests;
    }

    /// <summary>What the file's metadata states, or null for a file written without digests (an older Sweep, another tool).</summary>
    public static Stated? Read(IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue(KeyBatchDigests, out var batches) || !metadata.TryGetValue(KeyMetadataDigest, out var digest)) return null;
        return new Stated(digest, batches.Length == 0 ? [] : batches.Split(','));
    }

    /// <summary>Throws <see cref="ShardDamagedException"/> unless the metadata still has the digest it states.</summary>
    public static void CheckMetadata(string path, IReadOnlyDictionary<string, string> metadata, Stated stated)
    {
        if (OfMetadata(metadata) != stated.MetadataDigest)
            throw new ShardDamagedException(path, "its sweep.* metadata does not match the digest written with it");
    }

    /// <summary>Throws <see cref="ShardDamagedException"/> unless batch <paramref name="index"/> has the digest the file states for it.</summary>
    public static void CheckBatch(string path, RecordBatch batch, int index, Stated stated)
    {
        if (index >= stated.Batches.Count)
            throw new ShardDamagedException(path, $"it holds more record batches than the {stated.Batches.Count} it states digests for");
        if (OfBatch(batch) != stated.Batches[index])
            throw new ShardDamagedException(path, $"record batch {index} does not match its digest");
    }

    /// <summary>Throws <see cref="ShardDamagedException"/> unless <paramref name="read"/> batches were all the file states.</summary>
    public static void CheckCount(string path, int read, Stated stated)
    {
        if (read != stated.Batches.Count)
            throw new ShardDamagedException(path, $"it holds {read} record batches, its digests say {stated.Batches.Count}");
    }

    /// <summary>Hashes <paramref name="count"/> values of <paramref name="array"/> from <paramref name="start"/>: the bytes a reader gets.</summary>
    private static void Append(XxHash128 hash, IArrowArray array, int start, int count)
    {
        switch (array)
        {
            case FixedSizeListArray list:
                int width = ((FixedSizeListType)list.Data.DataType).ListSize;
                Append(hash, list.Values, (list.Offset + start) * width, count * width);
                break;
            case ListArray list:
                var offsets = list.ValueOffsets.Slice(start, count + 1);
                hash.Append(MemoryMarshal.AsBytes(offsets));
                Append(hash, list.Values, offsets[0], offsets[^1] - offsets[0]);
                break;
            default:
                int size = array.Data.DataType switch
                {
                    FixedWidthType fixedWidth when fixedWidth.BitWidth % 8 == 0 => fixedWidth.BitWidth / 8,
                    var type => throw new ArgumentException($"no digest is defined for shard columns of type {type.Name}", nameof(array)),
                };
                // Arrow buffers are little-endian, as .NET on every platform Sweep runs on.
                hash.Append(array.Data.Buffers[1].Span.Slice((array.Offset + start) * size, count * size));
                break;
        }
    }
}

/// <summary>A shard whose bytes no longer match the digests written with it: damaged on disk after it was written.</summary>
public sealed class ShardDamagedException(string path, string reason)
    : ShardFormatException($"{path}: damaged: {reason} (the file changed after it was written)");
