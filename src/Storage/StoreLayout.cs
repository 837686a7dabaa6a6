using System.Globalization;
using System.Text;
using Sweep.Storage.Shards;

namespace Sweep.Storage;

/// <summary>
/// Where things live under a run's store directory:
/// <c>shards/{model}/{site}/shard-{index:00000}.arrow</c> for dense activation shards.
/// </summary>
public static class StoreLayout
{
    public const string ShardsFolder = "shards";

    /// <summary>Absolute path of the dense shard described by <paramref name="metadata"/> under <paramref name="storeDir"/>.</summary>
    public static string DenseShardPath(string storeDir, ShardMetadata metadata) =>
        Path.GetFullPath(Path.Combine(storeDir, ShardsFolder, SafeSegment(metadata.Model), SafeSegment(metadata.Site),
            "shard-" + metadata.ShardIndex.ToString("D5", CultureInfo.InvariantCulture) + DenseShardFile.Extension));

    /// <summary>A name usable as one path segment: letters, digits, '.', '-', '_' kept; anything else becomes '_'.</summary>
    public static string SafeSegment(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name) builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        var segment = builder.ToString();
        return segment is "" or "." or ".." ? "_" + segment : segment;
    }
}
