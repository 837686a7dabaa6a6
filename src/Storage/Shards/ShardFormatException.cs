namespace Sweep.Storage.Shards;

/// <summary>A file that is not a readable Sweep shard. The message is one line and names the file.</summary>
public class ShardFormatException(string message, Exception? inner = null) : Exception(message, inner);
