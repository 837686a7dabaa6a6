namespace Sweep.Pipeline.Results;

/// <summary>
/// What a worker tells the coordinator about a finished unit, and all it tells: where the unit's result file is, its
/// SHA-256 and size, and how many rows of each kind it holds. Its size never depends on the result's: the rows stay in
/// the file (in the store every node shares) until the coordinator's ledger commit loads them.
/// </summary>
/// <param name="Reused">True when every output was already in the store (content-addressed cache, or a verified partial).</param>
public sealed record UnitReport(string ResultFile, string Checksum, long Bytes, int Shards, int Metrics, int FeatureMatches, bool Reused);
