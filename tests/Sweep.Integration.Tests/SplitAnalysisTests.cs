using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>
/// One process, the map/merge/finalize path: analyses split into a map unit per corpus shard store the rows of the
/// same analyses planned as one unit per pair (equal up to float64 rounding of the additions), and leave no partial
/// or result files behind once the run succeeded.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SplitAnalysisTests(ServerFixture server)
{
    private const string Captures = """
          - model: tiny-a
            sites: [blocks.1.hook_resid_post]
          - model: tiny-b
            sites: [blocks.2.hook_resid_post]
        """;

    private static string Analyses(string split) => $"""
          - name: cka
            kind: cka{split}
          - name: unbiased
            kind: cka_unbiased{split}
          - name: sv
            kind: svcca{split}
          - name: rs
            kind: rsa
            max_items: 50{split}
          - name: nn
            kind: knn
            k: 4
            max_items: 50{split}
          - name: corr
            kind: correlation
            top_k: 2{split}
        """;

    [Fact]
    public async Task Analyses_split_into_a_map_unit_per_shard_store_the_rows_of_the_one_unit_plan()
    {
        using var workspace = new JobWorkspace();
        var rows = new List<(IReadOnlyList<MetricRow> Metrics, IReadOnlyList<FeatureMatchRow> Matches)>();
        foreach (var (split, store) in new[] { ("", "store-whole"), ("\n    shards_per_unit: 1", "store-split") })
        {
            workspace.WriteJob(captures: Captures, analyses: Analyses(split), store: store, sequencesPerShard: 4);
            await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
            var report = await LocalRunner.RunAsync(JobLoader.Load(workspace.JobPath), database, NoProgress.Instance, CancellationToken.None);
            var units = await database.GetUnitsAsync(report.RunId);
            var analysisUnits = units.Where(u => u.Stage == "analysis").ToList();
            if (split.Length == 0) Assert.Equal(6, analysisUnits.Count);
            else
            {
                // Per pair a map per shard; each merge turns two partials into one until the finalize merges the last two.
                int shards = (await database.GetShardsAsync(report.RunId)).Count / 2;
                Assert.True(shards >= 8, $"the corpus should span several shards, has {shards}");
                Assert.Equal(6 * shards, analysisUnits.Count(u => u.Description.Contains(" map shard ", StringComparison.Ordinal)));
                Assert.Equal(6 * (shards - 2), analysisUnits.Count(u => u.Description.Contains(" merge shards ", StringComparison.Ordinal)));
                Assert.Equal(6 * (2 * shards - 1), analysisUnits.Count);
            }
            Assert.All(units, u => Assert.Equal(UnitStatus.Done, u.Status));
            Assert.False(Directory.Exists(Path.Combine(workspace.Root, store, "partials")) && Directory.EnumerateFileSystemEntries(Path.Combine(workspace.Root, store, "partials")).Any());
            Assert.False(Directory.Exists(Path.Combine(workspace.Root, store, "results")) && Directory.EnumerateFileSystemEntries(Path.Combine(workspace.Root, store, "results")).Any());
            rows.Add(((await database.GetMetricsAsync(report.RunId)).Select(m => m.Metric).OrderBy(m => (m.Analysis, m.Measure)).ToList(),
                await database.GetFeatureMatchesAsync(report.RunId)));
        }

        var (whole, parts) = (rows[0], rows[1]);
        Assert.Equal(whole.Metrics.Select(m => (m.Analysis, m.Measure, m.NTokens)), parts.Metrics.Select(m => (m.Analysis, m.Measure, m.NTokens)));
        foreach (var (w, s) in whole.Metrics.Zip(parts.Metrics))
        {
            Assert.True(Math.Abs(w.Value!.Value - s.Value!.Value) <= 1e-9 * Math.Max(1, Math.Abs(w.Value.Value)), $"{w.Analysis}/{w.Measure}: {s.Value:R} split, {w.Value:R} whole");
            // The same parameters, except how many blocks were folded in how many partials.
            if (w.Measure != "cka_linear" && w.Measure != "cka_unbiased" && w.Measure != "svcca") Assert.Equal(w.ParamsJson, s.ParamsJson);
        }
        Assert.Equal(whole.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match)), parts.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match)));
        foreach (var (w, s) in whole.Matches.Zip(parts.Matches)) Assert.Equal(w.Correlation, s.Correlation, 1e-9);
    }
}
