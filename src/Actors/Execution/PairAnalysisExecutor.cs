using System.Text.Json;
using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;
using Sweep.Jobs.Planning;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Actors.Execution;

/// <summary>
/// Compares two captured sites over the whole corpus: maps every corpus shard to mergeable float64
/// statistics, merges them in a tree, finalizes the measure and returns its metric row.
/// </summary>
public sealed class PairAnalysisExecutor(RunContext run) : IUnitExecutor
{
    public const string LinearCkaMeasure = "cka_linear";

    public Task<UnitResult> ExecuteAsync(WorkUnit unit, CancellationToken cancellationToken)
    {
        var analysis = (AnalysisUnit)unit.Payload;
        if (analysis.Kind != "cka") throw new PermanentUnitFailure($"analysis kind '{analysis.Kind}' has no executor");

        var partials = new List<DensePairStatistics>(run.Corpus.Shards.Count);
        for (int shard = 0; shard < run.Corpus.Shards.Count; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var a = ReadShard(analysis.A, shard);
            var b = ReadShard(analysis.B, shard);
            EnsureAligned(a, b);
            partials.Add(DensePairStatistics.FromRows(a.Act, b.Act, a.Rows, a.Metadata.Width, b.Metadata.Width));
        }
        var stats = DensePairStatistics.MergeAll(partials);
        var parameters = JsonSerializer.Serialize(new { estimator = "linear", centred = true, shards = partials.Count });
        var metric = new MetricRow(analysis.Analysis, LinearCkaMeasure, analysis.A.Model, analysis.A.Site,
            analysis.B.Model, analysis.B.Site, LinearCka.Compute(stats), stats.Count, parameters);
        return Task.FromResult(new UnitResult(new UnitOutput(Metrics: [metric]), Reused: false));
    }

    private DenseShard ReadShard(SiteRef site, int shardIndex)
    {
        var metadata = run.ShardMetadataFor(site.Model, site.Site, shardIndex);
        var shard = DenseShardFile.Read(run.ShardPath(metadata));
        if (shard.Metadata.CacheKey() != metadata.CacheKey())
            throw new InvalidDataException($"{run.ShardPath(metadata)}: holds other activations than {site} shard {shardIndex} of this run");
        return shard;
    }

    // Token-level comparison is only meaningful when both shards hold the same tokens in the same rows.
    private static void EnsureAligned(DenseShard a, DenseShard b)
    {
        if (a.Rows != b.Rows || !a.Seq.AsSpan().SequenceEqual(b.Seq) || !a.Pos.AsSpan().SequenceEqual(b.Pos) || !a.Token.AsSpan().SequenceEqual(b.Token))
            throw new PermanentUnitFailure($"shards of {a.Metadata.Model}/{a.Metadata.Site} and {b.Metadata.Model}/{b.Metadata.Site} (shard {a.Metadata.ShardIndex}) do not hold the same tokens");
    }

    public void Dispose() { }
}
