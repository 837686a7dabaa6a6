using System.Text.Json;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Run-level statistics of one SAE output, merged over every corpus shard in float64 from the sparse shards (codes,
/// and the reconstruction error each carries) and the dense shards of the encoded site:
/// <code>
/// L0  = mean over tokens of the number of non-zero codes
/// FVE = 1 - Σ‖x - x̂‖² / Σ‖x - x̄‖²          (x̄: the site's mean over the run's tokens)
/// dead  = features that never fire in the run;  dense = features firing on more than 10% of its tokens
/// </code>
/// </summary>
public sealed class SaeStatsExecutor(SaeRun saes)
{
    public const string L0Measure = "sae_l0";
    public const string FveMeasure = "sae_fve";
    public const string DeadMeasure = "sae_dead_features";
    public const string DenseMeasure = "sae_dense_features";

    public UnitResult Execute(SaeStatsWork stats, CancellationToken cancellationToken)
    {
        var run = saes.Run;
        long tokens = 0, active = 0;
        double sse = 0, sumSquares = 0;
        double[]? sum = null;
        long[]? fires = null;
        string site = "", neuronpedia = "";
        for (int i = 0; i < run.Corpus.Shards.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var dense = DenseShardFile.Read(run.ShardPath(run.ShardMetadataFor(stats.Model, stats.Hook, i)));
            var sparse = ReadSparse(stats, i);
            if (sparse.Rows != dense.Rows || !sparse.Seq.AsSpan().SequenceEqual(dense.Seq) || !sparse.Pos.AsSpan().SequenceEqual(dense.Pos))
                throw new PermanentUnitFailure($"sparse shard {sparse.Metadata.Site} {i} does not hold the tokens of its dense shard");
            site = sparse.Metadata.Site;
            neuronpedia = sparse.Metadata.Sae!.NeuronpediaId;
            fires ??= new long[sparse.Metadata.Width];
            sum ??= new double[dense.Metadata.Width];
            foreach (var f in sparse.Indices) fires[f]++;
            active += sparse.Indices.Length;
            tokens += sparse.Rows;
            sse += sparse.ReconstructionSse;
            int width = dense.Metadata.Width;
            for (int r = 0; r < dense.Rows; r++)
                for (int j = 0; j < width; j++)
                {
                    double v = dense.Act[r * width + j];
                    sum[j] += v;
                    sumSquares += v * v;
                }
        }
        double totalVariance = sumSquares - (sum ?? []).Sum(s => s * s) / Math.Max(tokens, 1);
        var parameters = JsonSerializer.Serialize(new
        {
            sae = stats.Sae, output = stats.Output, hook = stats.Hook, d_sae = fires?.Length ?? 0, dense_fraction = SaeRun.DenseFraction,
            shards = run.Corpus.Shards.Count, neuronpedia_id = neuronpedia,
        });
        MetricRow Row(string measure, double value) => new(stats.Sae, measure, stats.Model, site, null, null, value, tokens, parameters);
        var metrics = new List<MetricRow>
        {
            Row(L0Measure, tokens == 0 ? double.NaN : active / (double)tokens),
            Row(FveMeasure, totalVariance > 0 ? 1 - sse / totalVariance : double.NaN),
            Row(DeadMeasure, fires?.Count(f => f == 0) ?? 0),
            Row(DenseMeasure, fires?.Count(f => f > SaeRun.DenseFraction * tokens) ?? 0),
        };
        return new UnitResult(new UnitOutput(Metrics: metrics), Reused: false);
    }

    private SparseShard ReadSparse(SaeStatsWork stats, int shardIndex)
    {
        // The identity's informational fields (architecture, Neuronpedia id) are not part of the cache key.
        var identity = new SaeIdentity(stats.Sae, saes.DigestOf(stats.Sae), stats.Hook, stats.Output);
        var expected = saes.SparseMetadata(stats.Model, stats.Hook, shardIndex, identity, stats.DSae);
        var path = saes.Run.ShardPath(expected);
        var shard = SparseShardFile.Read(path);
        if (shard.Metadata.CacheKey() != expected.CacheKey())
            throw new InvalidDataException($"{path}: holds other codes than SAE '{stats.Sae}' ({stats.Output}) shard {shardIndex} of this run");
        return shard;
    }
}
