using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class LedgerTests(PostgresFixture pg) : IAsyncLifetime
{
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private Task<long> NewRunAsync(string name = "test") => _db.CreateRunAsync(name, "version: 1\n", "sha256:spec", "/tmp/store");

    private static ShardRow Shard(int index, string model = "tiny-a", string site = "blocks.0.hook_resid_post") =>
        new($"key-{model}-{site}-{index}", model, site, index, 512, 64, "float32", $"shards/{model}/{index}.arrow", "abc", 4096);

    private static List<MetricRow> Metrics(int count, double offset = 0) =>
        Enumerable.Range(0, count).Select(i => new MetricRow(
            "cka", "linear_cka", "tiny-a", $"blocks.{i % 4}.hook_resid_post",
            i % 5 == 0 ? null : "tiny-b", i % 5 == 0 ? null : $"blocks.{i % 3}.hook_resid_post",
            Math.Sqrt(i) / 100 + offset, 1000 + i, $$"""{"tile": {{i}}, "baseline": "shuffle"}""")).ToList();

    [Fact]
    public async Task Upserting_units_inserts_pending_rows_and_leaves_existing_ones_alone()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("capture/a/0", "capture", "tiny-a shard 0"), new("capture/a/1", "capture")]);
        await _db.StartUnitAsync(run, "capture/a/0", "worker-1");

        await _db.UpsertUnitsAsync(run, [new("capture/a/0", "capture", "changed"), new("capture/a/1", "capture"), new("analysis/cka", "analysis")]);

        var units = await _db.GetUnitsAsync(run);
        Assert.Equal(["analysis/cka", "capture/a/0", "capture/a/1"], units.Select(u => u.UnitKey));
        var started = units.Single(u => u.UnitKey == "capture/a/0");
        Assert.Equal((UnitStatus.Running, 1, "worker-1", "tiny-a shard 0"), (started.Status, started.Attempts, started.Worker, started.Description));
        Assert.All(units.Where(u => u.UnitKey != "capture/a/0"), u => Assert.Equal((UnitStatus.Pending, 0), (u.Status, u.Attempts)));
    }

    [Fact]
    public async Task Starting_counts_attempts_and_failing_records_the_error()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("u", "capture")]);

        Assert.Equal(1, await _db.StartUnitAsync(run, "u", "w1"));
        await _db.FailUnitAsync(run, "u", "out of memory");
        var failed = (await _db.GetUnitsAsync(run)).Single();
        Assert.Equal((UnitStatus.Failed, "out of memory", 1), (failed.Status, failed.Error, failed.Attempts));

        Assert.Equal(2, await _db.StartUnitAsync(run, "u", "w2"));
        var retried = (await _db.GetUnitsAsync(run)).Single();
        Assert.Equal((UnitStatus.Running, null, "w2"), (retried.Status, retried.Error, retried.Worker));

        await Assert.ThrowsAsync<KeyNotFoundException>(() => _db.StartUnitAsync(run, "no-such-unit", "w"));
    }

    [Fact]
    public async Task Completing_a_unit_commits_its_shards_and_metrics()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("capture/a/0", "capture"), new("analysis/cka", "analysis")]);
        await _db.StartUnitAsync(run, "capture/a/0", "w1");
        await _db.CompleteUnitAsync(run, "capture/a/0", new UnitOutput("shards/tiny-a/0.arrow", "abc", Shards: [Shard(0), Shard(0, site: "blocks.1.hook_resid_post")]));
        var metrics = Metrics(2500);
        await _db.CompleteUnitAsync(run, "analysis/cka", new UnitOutput(Metrics: metrics));

        var units = await _db.GetUnitsAsync(run);
        Assert.All(units, u => Assert.Equal(UnitStatus.Done, u.Status));
        Assert.Equal(("shards/tiny-a/0.arrow", "abc"), (units[1].OutputUri, units[1].Checksum));
        Assert.Equal([Shard(0), Shard(0, site: "blocks.1.hook_resid_post")], await _db.GetShardsAsync(run));

        var stored = await _db.GetMetricsAsync(run);
        Assert.Equal(2500, stored.Count);
        Assert.All(stored, s => Assert.Equal(("analysis/cka", run), (s.UnitKey, s.RunId)));
        for (var i = 0; i < metrics.Count; i++)
        {
            var (expected, actual) = (metrics[i], stored[i].Metric);
            Assert.Equal(expected with { ParamsJson = "" }, actual with { ParamsJson = "" });
            Assert.Equal($$"""{"tile": {{i}}, "baseline": "shuffle"}""", actual.ParamsJson);
        }
        Assert.Null(stored[0].Metric.ModelB);
    }

    [Fact]
    public async Task Completing_a_unit_twice_leaves_exactly_one_set_of_rows()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("analysis/cka", "analysis"), new("capture/a/0", "capture")]);
        await _db.CompleteUnitAsync(run, "capture/a/0", new UnitOutput(Shards: [Shard(0)]));
        await _db.CompleteUnitAsync(run, "analysis/cka", new UnitOutput(Metrics: Metrics(40)));

        await _db.CompleteUnitAsync(run, "capture/a/0", new UnitOutput("second", "def", Shards: [Shard(0) with { Checksum = "def" }]));
        await _db.CompleteUnitAsync(run, "analysis/cka", new UnitOutput(Metrics: Metrics(40, offset: 1)));

        var shards = await _db.GetShardsAsync(run);
        Assert.Equal("def", Assert.Single(shards).Checksum);
        var stored = await _db.GetMetricsAsync(run);
        Assert.Equal(40, stored.Count);
        Assert.All(stored, s => Assert.True(s.Metric.Value >= 1));
        Assert.Equal("second", (await _db.GetUnitsAsync(run)).Single(u => u.UnitKey == "capture/a/0").OutputUri);
    }

    [Fact]
    public async Task A_completion_that_fails_midway_commits_nothing()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("u", "capture")]);
        await _db.StartUnitAsync(run, "u", "w1");

        // Two catalog rows for the same (model, site, shard) violate the primary key after the unit update ran.
        await Assert.ThrowsAsync<PostgresException>(() =>
            _db.CompleteUnitAsync(run, "u", new UnitOutput("x", "y", Shards: [Shard(0), Shard(0)], Metrics: Metrics(3))));

        Assert.Equal(UnitStatus.Running, (await _db.GetUnitsAsync(run)).Single().Status);
        Assert.Empty(await _db.GetShardsAsync(run));
        Assert.Empty(await _db.GetMetricsAsync(run));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _db.CompleteUnitAsync(run, "nope", new UnitOutput()));
    }

    [Fact]
    public async Task Run_status_moves_through_running_failed_resumed_and_succeeded()
    {
        var run = await NewRunAsync("status-run");
        var created = (await _db.GetRunAsync(run))!;
        Assert.Equal(("status-run", RunStatus.Pending, null, null, "/tmp/store"), (created.Name, created.Status, created.StartedAt, created.FinishedAt, created.StoreDir));
        Assert.Equal(("version: 1\n", "sha256:spec"), (created.SpecYaml, created.SpecDigest));

        Assert.Null(created.HeartbeatAge);
        Assert.False(await _db.TouchRunAsync(run));   // only a running run has a heartbeat
        await _db.SetRunStatusAsync(run, RunStatus.Running);
        var running = (await _db.GetRunAsync(run))!;
        Assert.Equal(RunStatus.Running, running.Status);
        Assert.NotNull(running.StartedAt);
        Assert.InRange(running.HeartbeatAge!.Value, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        await Task.Delay(300);
        var beforeTouch = (await _db.GetRunAsync(run))!.HeartbeatAge!.Value;
        Assert.True(beforeTouch >= TimeSpan.FromMilliseconds(250), $"heartbeat {beforeTouch} old");
        Assert.True(await _db.TouchRunAsync(run));
        Assert.True((await _db.GetRunAsync(run))!.HeartbeatAge < beforeTouch);

        await Assert.ThrowsAsync<ArgumentException>(() => _db.SetRunStatusAsync(run, RunStatus.Failed));
        await _db.SetRunStatusAsync(run, RunStatus.Failed, "model file missing: /models/a");
        var failed = (await _db.GetRunAsync(run))!;
        Assert.Equal((RunStatus.Failed, "model file missing: /models/a"), (failed.Status, failed.Error));
        Assert.NotNull(failed.FinishedAt);

        await _db.SetRunStatusAsync(run, RunStatus.Running);
        var resumed = (await _db.GetRunAsync(run))!;
        Assert.Equal((RunStatus.Running, null, null, running.StartedAt), (resumed.Status, resumed.Error, resumed.FinishedAt, resumed.StartedAt));

        await _db.SetRunStatusAsync(run, RunStatus.Succeeded);
        var done = (await _db.GetRunAsync(run))!;
        Assert.Equal((RunStatus.Succeeded, null), (done.Status, done.Error));
        Assert.True(done.FinishedAt >= done.StartedAt);
        Assert.False(await _db.TouchRunAsync(run));

        Assert.Null(await _db.GetRunAsync(-1));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _db.SetRunStatusAsync(-1, RunStatus.Running));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => _db.UpsertUnitsAsync(-1, [new("u", "capture")]));
    }

    [Fact]
    public async Task A_shard_is_found_by_its_cache_key_from_an_earlier_run()
    {
        var earlier = await NewRunAsync();
        await _db.UpsertUnitsAsync(earlier, [new("capture/a/7", "capture")]);
        var shard = Shard(7) with { ShardKey = "cache-" + Guid.NewGuid().ToString("N") };
        await _db.CompleteUnitAsync(earlier, "capture/a/7", new UnitOutput(Shards: [shard]));

        Assert.Equal(shard, await _db.FindShardAsync(shard.ShardKey));
        Assert.Null(await _db.FindShardAsync("no-such-key"));
    }

    [Fact]
    public async Task An_undefined_or_non_finite_metric_is_stored_as_null_with_its_reason_and_never_as_a_number()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("analysis/cka", "analysis")]);
        await _db.StartUnitAsync(run, "analysis/cka", "w1");
        await _db.CompleteUnitAsync(run, "analysis/cka", new UnitOutput(Metrics:
        [
            new MetricRow("cka", "cka_linear", "a", "s0", "b", "s1", 0.25, 10),
            new MetricRow("cka", "cka_linear", "a", "s0", "b", "s2", null, 10, UndefinedReason: "B is constant"),
            new MetricRow("cka", "cka_linear", "a", "s0", "b", "s3", double.NaN, 10),
        ]));

        var stored = (await _db.GetMetricsAsync(run)).Select(m => m.Metric).OrderBy(m => m.SiteB).ToList();
        Assert.Equal((0.25, null), (stored[0].Value, stored[0].UndefinedReason));
        Assert.Equal((null, "B is constant"), (stored[1].Value, stored[1].UndefinedReason));
        Assert.Equal((null, "the computation gave NaN (numerically undefined)"), (stored[2].Value, stored[2].UndefinedReason));

        // The schema itself refuses a NaN, or a value without a reason's counterpart.
        await using var connection = new NpgsqlConnection(pg.Server.ConnectionString);
        await connection.OpenAsync();
        foreach (var (value, reason) in new (string, string)[] { ("'NaN'", "NULL"), ("'Infinity'", "NULL"), ("NULL", "NULL"), ("0.5", "'why'") })
        {
            await using var insert = new NpgsqlCommand($"""
                INSERT INTO metrics (run_id, unit_key, analysis, measure, model_a, site_a, value, undefined_reason, n_tokens)
                VALUES ({run}, 'analysis/cka', 'cka', 'cka_linear', 'a', 's0', {value}, {reason}, 10)
                """, connection);
            var e = await Assert.ThrowsAsync<PostgresException>(() => insert.ExecuteNonQueryAsync());
            Assert.Equal(PostgresErrorCodes.CheckViolation, e.SqlState);
        }
    }

    [Fact]
    public async Task A_stored_error_is_one_line_without_libtorch_stack_frames()
    {
        var run = await NewRunAsync();
        await _db.UpsertUnitsAsync(run, [new("u", "analysis")]);
        await _db.StartUnitAsync(run, "u", "w1");
        const string native = "linalg.eigh: The algorithm failed to converge because the input matrix is ill-conditioned\n" +
                              "Exception raised from linalg_eigh_out at /pytorch/aten/src/ATen/native/BatchLinearAlgebra.cpp:2957 (most recent call first):\n" +
                              "frame #0: c10::Error::Error(...) + 0x9d (0x7f in /usr/lib/libc10.so)\n";
        await _db.FailUnitAsync(run, "u", native);
        await _db.SetRunStatusAsync(run, RunStatus.Failed, "unit u failed: " + native);

        const string expected = "linalg.eigh: The algorithm failed to converge because the input matrix is ill-conditioned";
        Assert.Equal(expected, (await _db.GetUnitsAsync(run)).Single().Error);
        Assert.Equal("unit u failed: " + expected, (await _db.GetRunAsync(run))!.Error);
    }
}
