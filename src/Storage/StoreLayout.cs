using System.Globalization;
using Sweep.Identity;
using Sweep.Storage.Shards;

namespace Sweep.Storage;

/// <summary>
/// Where things live under a run's store directory:
/// <c>shards/{model}/{site}/shard-{index:00000}-{key16}.arrow</c> for dense activation shards, where
/// key16 is the first 16 hex digits of the shard's content-addressed cache key: browsable by model
/// and site, and two runs whose numbers differ (other weights, corpus, tokenizer) never share a file.
/// </summary>
public static class StoreLayout
{
    public const string ShardsFolder = "shards";

    /// <summary>Absolute path of the dense shard described by <paramref name="metadata"/> under <paramref name="storeDir"/>.</summary>
    public static string DenseShardPath(string storeDir, ShardMetadata metadata) =>
        Path.GetFullPath(Path.Combine(storeDir, ShardsFolder, SafeSegment(metadata.Model), SafeSegment(metadata.Site),
            "shard-" + metadata.ShardIndex.ToString("D5", CultureInfo.InvariantCulture) + "-" + metadata.CacheKey()[..16] + DenseShardFile.Extension));

    /// <summary>A name usable as one path segment: letters, digits, '.', '-', '_' kept; anything else becomes '_'.</summary>
    public static string SafeSegment(string name) => Keys.SafeSegment(name);
}
