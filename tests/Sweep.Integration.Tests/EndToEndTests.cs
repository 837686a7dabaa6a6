using Sweep.Actors.Execution;
using Sweep.Actors.Runs;
using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests;

/// <summary>Whole jobs through the real pipeline: YAML, tokenizer, TorchSharp capture, Arrow shards, actors, PostgreSQL.</summary>
[Collection(ServerCollection.Name)]
public sealed class EndToEndTests(ServerFixture server)
{
    private async Task<(RunReport Report, SweepDatabase Database)> RunAsync(JobWorkspace workspace, string? connection = null)
    {
        var database = await SweepDatabase.OpenAsync(connection ?? await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(workspace.JobPath);
        return (await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None), database);
    }

    [Fact]
    public async Task A_job_stores_readable_shards_ledger_rows_and_CKA_values_that_match_the_shards()
    {
        using var workspace = new JobWorkspace();
        var (report, database) = await RunAsync(workspace);
        await using var _ = database;

        var run = await database.GetRunAsync(report.RunId);
        Assert.Equal(RunStatus.Succeeded, run!.Status);
        var units = await database.GetUnitsAsync(report.RunId);
        Assert.All(units, u => Assert.Equal(UnitStatus.Done, u.Status));
        Assert.Equal(report.CaptureUnits + report.AnalysisUnits, units.Count);

        // 4 sites in 2 models -> 6 unordered pairs; every shard of every site in the catalog and on disk.
        var shards = await database.GetShardsAsync(report.RunId);
        int corpusShards = report.CaptureUnits / 2;
        Assert.True(corpusShards >= 2, "the test corpus should span several shards");
        Assert.Equal(4 * corpusShards, shards.Count);
        Assert.Equal(shards.Count, workspace.StoreFiles().Count);
        foreach (var row in shards)
        {
            Assert.Equal(row.Checksum, DenseShardFile.Checksum(row.Uri));
            var shard = DenseShardFile.Read(row.Uri);
            Assert.Equal(row.Rows, shard.Rows);
            Assert.Equal(row.Site, shard.Metadata.Site);
            Assert.Equal("float32", shard.Metadata.ComputeDtype);   // execution.dtype of the job
        }
        Assert.Equal(report.Tokens, shards.Where(s => s.Model == "tiny-a" && s.Site == "blocks.0.hook_resid_pre").Sum(s => s.Rows));

        Assert.Equal(6, report.Metrics.Count);
        foreach (var stored in report.Metrics)
        {
            var m = stored.Metric;
            Assert.Equal("cka_linear", m.Measure);
            Assert.Equal(report.Tokens, m.NTokens);
            Assert.Equal(RecomputeCka(shards, m.ModelA, m.SiteA, m.ModelB!, m.SiteB!), m.Value!.Value, 12);
            Assert.InRange(m.Value!.Value, 0.0, 1.0);
        }
    }

    [Fact]
    public async Task A_float16_job_writes_half_size_shards_its_analyses_and_saes_read_and_reuses_no_float32_shard()
    {
        using var workspace = new JobWorkspace(documents: 16);
        const string captures = "  - model: tiny-a\n    sites: [blocks.1.hook_resid_post, blocks.3.hook_resid_post]";
        const string saes = "saes:\n  - name: res\n    path: sae\n    model: tiny-a\n    site: blocks.1.hook_resid_post\n"
            + "train_sae:\n  - name: trained\n    model: tiny-a\n    site: blocks.3.hook_resid_post\n    expansion_factor: 2\n    k: 4\n    steps: 5\n    batch_size: 32\n    warmup_steps: 1";
        var saeFolder = Path.Combine(workspace.Root, "sae");
        using (var sae = SaeEndToEndTests.RandomSae(dIn: 64, dSae: 128, hook: "blocks.1.hook_resid_post", model: "tiny-a")) SaeLensWriter.Save(sae, saeFolder);
        var connection = await server.CreateDatabaseAsync();
        workspace.WriteJob(captures, saes: saes);
        var (full, db1) = await RunAsync(workspace, connection);
        var fullShards = await db1.GetShardsAsync(full.RunId);
        await db1.DisposeAsync();

        workspace.WriteJob(captures, shardDtype: "float16", saes: saes);
        var (half, database) = await RunAsync(workspace, connection);
        await using var _ = database;

        Assert.Equal(0, half.Outcome.UnitsReused);
        var shards = await database.GetShardsAsync(half.RunId);
        Assert.Equal(fullShards.Count, shards.Count);
        Assert.DoesNotContain(shards, s => fullShards.Any(f => f.Uri == s.Uri));
        var dense = shards.Where(s => !s.Site.Contains("/sae/")).ToList();
        Assert.True(dense.Count >= 4, "the test corpus should span several shards of both sites");
        foreach (var row in dense)
        {
            var shard = DenseShardFile.Read(row.Uri);
            Assert.Equal(("float16", "float16", 2), (row.Dtype, shard.Metadata.Dtype, shard.Metadata.FormatVersion));
            Assert.All(shard.Act, v => Assert.Equal(v, (float)(Half)v));
            var twin = fullShards.Single(f => f.Site == row.Site && f.ShardIndex == row.ShardIndex);
            long saved = row.Rows * row.Width * 2;   // two bytes less per value, the rest of the file alike (but for padding)
            Assert.InRange(twin.Bytes - row.Bytes, saved - 128, saved + 128);
        }

        var cka = half.Metrics.Single(m => m.Metric.Measure == "cka_linear").Metric;
        Assert.Equal(RecomputeCka(dense, cka.ModelA, cka.SiteA, cka.ModelB!, cka.SiteB!), cka.Value!.Value, 12);
        var fullCka = full.Metrics.Single(m => m.Metric.Measure == "cka_linear").Metric.Value!.Value;
        Assert.InRange(cka.Value!.Value - fullCka, -1e-3, 1e-3);   // float16 rounding moves CKA very little

        // SAEs train on and encode the stored (rounded) activations: another trained SAE, codes exactly as if encoded from the file.
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(workspace.StoreDirectory, SaeRun.SaesFolder), "trained-*").Length);
        Assert.All(shards.Where(s => s.Site.Contains("/sae/")), row => Assert.Equal("float16", SparseShardFile.ReadMetadata(row.Uri).Sae!.InputDtype));
        using var encoder = SaeLoader.Load(saeFolder);
        foreach (var row in shards.Where(s => s.Site.Contains("/sae/res")))
        {
            var codes = SparseShardFile.Read(row.Uri);
            var activations = DenseShardFile.Read(dense.Single(d => d.Site == codes.Metadata.Sae!.Hook && d.ShardIndex == row.ShardIndex).Uri);
            var expected = encoder.Encode(activations.Act, activations.Seq.GroupBy(s => s).Select(g => g.Count()).ToList()).Codes["codes"];
            Assert.Equal(expected.Indices, codes.Indices);
            Assert.Equal(expected.Values, codes.Values);
        }
    }

    /// <summary>CKA from all rows of both sites at once (no sharding, no merge): what the merged statistics must equal.</summary>
    private static double RecomputeCka(IReadOnlyList<ShardRow> shards, string modelA, string siteA, string modelB, string siteB)
    {
        float[] Concat(string model, string site, out int rows, out int width)
        {
            var parts = shards.Where(s => s.Model == model && s.Site == site).OrderBy(s => s.ShardIndex).Select(s => DenseShardFile.Read(s.Uri)).ToList();
            rows = parts.Sum(p => p.Rows);
            width = parts[0].Metadata.Width;
            return parts.SelectMany(p => p.Act).ToArray();
        }
        var x = Concat(modelA, siteA, out int n, out int dx);
        var y = Concat(modelB, siteB, out _, out int dy);
        return LinearCka.Compute(DensePairStatistics.FromRows(x, y, n, dx, dy)).Number;
    }

    [Fact]
    public async Task A_second_run_reuses_every_shard_and_gives_identical_metrics_whatever_the_worker_count()
    {
        using var workspace = new JobWorkspace(documents: 24);
        var connection = await server.CreateDatabaseAsync();
        var (first, db1) = await RunAsync(workspace, connection);
        await db1.DisposeAsync();

        workspace.WriteJob(workers: 2);
        var (second, db2) = await RunAsync(workspace, connection);
        await db2.DisposeAsync();

        Assert.NotEqual(first.RunId, second.RunId);
        Assert.Equal(0, first.Outcome.UnitsReused);
        Assert.Equal(second.CaptureUnits, second.Outcome.UnitsReused);
        string Key(StoredMetric s) => $"{s.Metric.ModelA}/{s.Metric.SiteA}~{s.Metric.ModelB}/{s.Metric.SiteB}";
        var before = first.Metrics.ToDictionary(Key, s => s.Metric.Value);
        var after = second.Metrics.ToDictionary(Key, s => s.Metric.Value);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (key, value) in before) Assert.Equal(value, after[key]);
    }
}
