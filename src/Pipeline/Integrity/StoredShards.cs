using Sweep.Identity;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Integrity;

/// <summary>
/// The checks a shard already in the store passes before it is used again (docs/operations.md, "What Sweep checks"). A
/// cache hit reads the whole file and checks every record batch against its digest (a worker has no catalog at hand:
/// the digests the file carries are what its catalogued checksum was computed from, so a file that verifies has that
/// checksum); a resumed run compares each catalogued shard's checksum with its row, reading every batch of the shards
/// an unfinished unit still needs and only the footer of the others.
/// </summary>
public static class StoredShards
{
    /// <summary>
    /// The checksum of the shard at <paramref name="path"/> when it may be reused as <paramref name="expected"/> (same cache
    /// key, every batch intact), else null: no file, or one that does not verify, which is reported once with
    /// <paramref name="redo"/> (what happens instead).
    /// </summary>
    public static string? Reusable(string path, ShardMetadata expected, string redo)
    {
        if (!File.Exists(path)) return null;
        bool sparse = expected.Kind == ShardMetadata.KindSparse;
        try
        {
            var found = sparse ? SparseShardFile.ReadMetadata(path) : DenseShardFile.ReadMetadata(path);
            if (found.CacheKey() != expected.CacheKey())
            {
                DamageLog.Report($"{path}: holds other data ({found.Model} {found.Site} shard {found.ShardIndex}) than its name says", redo);
                return null;
            }
            return sparse ? SparseShardFile.Verify(path) : DenseShardFile.Verify(path);
        }
        catch (FileNotFoundException) { return null; }
        catch (Exception e) when (e is ShardFormatException or IOException or UnauthorizedAccessException)
        {
            DamageLog.Report(e.Message.StartsWith(path, StringComparison.Ordinal) ? e.Message : $"{path}: {e.Message}", redo);
            return null;
        }
    }

    /// <summary>
    /// Why the catalogued shard <paramref name="row"/> is no longer what its row says (a line naming the file), or null when
    /// it is. <paramref name="everyBatch"/>: read and check every record batch; otherwise only the footer's digests.
    /// </summary>
    public static string? Problem(ShardRow row, bool everyBatch)
    {
        if (!File.Exists(row.Uri)) return $"{row.Uri}: missing";
        bool sparse = Keys.IsSaeSite(row.Site);
        try
        {
            var checksum = everyBatch
                ? sparse ? SparseShardFile.Verify(row.Uri) : DenseShardFile.Verify(row.Uri)
                : sparse ? SparseShardFile.Checksum(row.Uri) : DenseShardFile.Checksum(row.Uri);
            return checksum == row.Checksum ? null : $"{row.Uri}: checksum {checksum[..12]}, the catalog records {row.Checksum[..Math.Min(12, row.Checksum.Length)]}";
        }
        catch (Exception e) when (e is ShardFormatException or IOException or UnauthorizedAccessException)
        {
            return e.Message.StartsWith(row.Uri, StringComparison.Ordinal) ? e.Message : $"{row.Uri}: {e.Message}";
        }
    }
}
