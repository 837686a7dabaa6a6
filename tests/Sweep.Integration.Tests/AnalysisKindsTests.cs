using System.Text.Json;
using Sweep.Actors.Execution;
using Sweep.Actors.Runs;
using Sweep.Analysis;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Statistics;
using Sweep.Jobs.Spec;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests;

/// <summary>One job with several analysis kinds: metric rows with their parameters and feature matches in PostgreSQL, equal to one pass over all rows.</summary>
[Collection(ServerCollection.Name)]
public sealed class AnalysisKindsTests(ServerFixture server)
{
    private const string Captures = """
          - model: tiny-a
            sites: [blocks.1.hook_resid_post]
          - model: tiny-b
            sites: [blocks.2.hook_resid_post]
        """;

    private const string Analyses = """
          - name: unbiased
            kind: cka_unbiased
          - name: sv
            kind: svcca
            keep_variance: 0.95
          - name: pw
            kind: pwcca
          - name: rs
            kind: rsa
            outer: kendall
            max_items: 60
            seed: 3
          - name: nn
            kind: knn
            k: 4
            max_items: 60
          - name: pr
            kind: procrustes
          - name: corr
            kind: correlation
            top_k: 2
            memory_mb: 1
        """;

    [Fact]
    public async Task A_job_with_several_kinds_stores_metrics_with_parameters_and_feature_matches()
    {
        using var workspace = new JobWorkspace();
        workspace.WriteJob(captures: Captures, analyses: Analyses);
        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(workspace.JobPath);
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);

        var metrics = (await database.GetMetricsAsync(report.RunId)).Select(m => m.Metric).ToList();
        Assert.Equal(["cka_unbiased", "correlation_mean_best_a_to_b", "correlation_mean_best_b_to_a", "correlation_mutual_pairs",
                      "knn_jaccard", "knn_overlap", "procrustes", "pwcca", "rsa", "svcca"], metrics.Select(m => m.Measure).Order());
        Assert.All(metrics, m => Assert.True(m.Value is { } v && double.IsFinite(v)));

        // The same measures over all rows at once, as `sweep compare` would run them: sharding must not change a value.
        var shards = await database.GetShardsAsync(report.RunId);
        var (x, y, ids, n) = AllRows(shards);
        Assert.True(shards.Count >= 4, "the corpus should span several shards");
        int wx = x.Length / n, wy = y.Length / n;
        PairMeasureResult OnePass(AnalysisSpec a) => PairMeasures.Compute(PairMeasures.Parse(SpecNames.Of(a.Kind))!.Value,
            PairAnalysisExecutor.Settings(a.Parameters), wx, wy, () => [new ItemBlock(x, y, n, ids)]);
        foreach (var analysis in spec.Analyses)
        {
            var expected = OnePass(analysis);
            foreach (var value in expected.Values)
            {
                var stored = metrics.Single(m => m.Analysis == analysis.Name && m.Measure == value.Measure);
                Assert.Equal(value.Result.Number, stored.Value!.Value, 1e-9);
                Assert.Equal(value.Count, stored.NTokens);
            }
        }
        var sv = JsonDocument.Parse(metrics.Single(m => m.Measure == "svcca").ParamsJson).RootElement;
        Assert.Equal(0.95, sv.GetProperty("keep_variance").GetDouble());
        var rsa = JsonDocument.Parse(metrics.Single(m => m.Measure == "rsa").ParamsJson).RootElement;
        Assert.Equal(("kendall", 60, 3), (rsa.GetProperty("outer").GetString(), rsa.GetProperty("items").GetInt32(), rsa.GetProperty("seed").GetInt32()));

        // Feature matches: every feature of both sides at rank 1, A's second best at rank 2, equal to the one-pass matches.
        var matches = await database.GetFeatureMatchesAsync(report.RunId);
        var reference = DenseCorrelation.FromStatistics(DensePairStatistics.FromRows(x, y, n, wx, wy), new CorrelationOptions(TopK: 2));
        Assert.Equal(2 * wx + wy, matches.Count);
        foreach (var row in matches.Where(r => r.Rank == 1))
        {
            var best = row.Direction == SweepDatabase.AToB ? reference.AToB[row.Feature] : reference.BToA[row.Feature];
            Assert.Equal(best.Index, row.Match ?? -1);
            Assert.Equal(best.Correlation, row.Correlation, 1e-9);
        }
        Assert.Equal(reference.MutualPairs().Count, matches.Count(r => r.Mutual && r.Direction == SweepDatabase.AToB));
        Assert.All(matches.Where(r => r.Rank == 2), r => Assert.Equal(reference.TopKAToB[r.Feature][1].Index, r.Match));
    }

    private static (float[] X, float[] Y, long[] Ids, int Rows) AllRows(IReadOnlyList<ShardRow> shards)
    {
        List<DenseShard> Read(string model) => shards.Where(s => s.Model == model).OrderBy(s => s.ShardIndex).Select(s => DenseShardFile.Read(s.Uri)).ToList();
        var a = Read("tiny-a");
        var b = Read("tiny-b");
        var ids = a.SelectMany(s => s.Seq.Zip(s.Pos, (q, p) => ((long)q << 32) | (uint)p)).ToArray();
        return (a.SelectMany(s => s.Act).ToArray(), b.SelectMany(s => s.Act).ToArray(), ids, ids.Length);
    }
}
