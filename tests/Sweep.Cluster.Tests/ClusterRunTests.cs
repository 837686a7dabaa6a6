namespace Sweep.Cluster.Tests;

/// <summary>
/// Real `sweep node` processes on loopback and a real PostgreSQL: each run is compared, metric for
/// metric and bit for bit, with the single-process result of the same job. Faults are injected by
/// killing processes (SIGKILL) and restarting the database while units are in flight; units are
/// slowed (SWEEP_FAULT_UNIT_DELAY_MS) only so that "in flight" lasts long enough to hit.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterRunTests(ClusterFixture fixture) : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Slow = new() { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "300" };
    private readonly List<SweepProcess> _processes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
    }

    private SweepProcess Start(string name, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var process = SweepProcess.Start(fixture.Workspace, name, env, args);
        _processes.Add(process);
        return process;
    }

    /// <summary>A coordinator node (coordinator + reducer roles) and worker nodes, all admitted before returning.</summary>
    private async Task<(int Port, SweepProcess Coordinator, List<(SweepProcess Process, string Node)> Workers)> StartClusterAsync(
        string connection, int workers, IReadOnlyDictionary<string, string>? env = null)
    {
        int seed = SweepProcess.FreePort();
        var coordinator = Start("coordinator", env, "node", "--roles", "coordinator,reducer", "--port", $"{seed}", "--db", connection);
        await coordinator.WaitForLineAsync("admitted by the coordinator");
        var started = new List<(SweepProcess, string)>();
        for (int i = 1; i <= workers; i++)
        {
            int port = SweepProcess.FreePort();
            started.Add((Start($"worker-{i}", env, "node", "--roles", "worker", "--seed", $"127.0.0.1:{seed}", "--port", $"{port}"), $"127.0.0.1:{port}"));
        }
        foreach (var (process, _) in started) await process.WaitForLineAsync("admitted by the coordinator");
        return (seed, coordinator, started);
    }

    private async Task AssertIdenticalToSingleProcessAsync(Ledger ledger, long run)
    {
        Assert.Equal("succeeded", await ledger.RunStatusAsync(run));
        var expected = await fixture.ReferenceMetricsAsync();
        var actual = await ledger.MetricsAsync(run);
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, value) in expected) Assert.True(value == actual[key], $"{key}: {actual[key]:R} != single-process {value:R}");
    }

    private static async Task AssertEveryUnitCommittedOnceAsync(Ledger ledger, long run)
    {
        var commits = await ledger.RowsAsync("SELECT unit_key, commits::text FROM units WHERE run_id = @r", ("r", run));
        Assert.NotEmpty(commits);
        Assert.All(commits, c => Assert.True(c.B == "1", $"unit {c.A} committed {c.B} times"));
        Assert.Equal(0L, await ledger.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT unit_key FROM unit_attempts WHERE run_id = @r AND outcome = 'done' GROUP BY unit_key HAVING count(*) > 1) d", ("r", run)));
    }

    [Fact]
    public async Task A_coordinator_and_three_workers_give_the_single_process_results()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var (port, _, workers) = await StartClusterAsync(ledger.ConnectionString, workers: 3);

        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", fixture.WriteJob("three-workers"));
        Assert.True(await submit.WaitForExitAsync() == 0, submit.Output);
        Assert.Matches(@"run \d+ succeeded", submit.Output);

        long run = await ledger.LatestRunAsync();
        await AssertIdenticalToSingleProcessAsync(ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        var nodes = (await ledger.RowsAsync("SELECT DISTINCT node FROM unit_attempts WHERE run_id = @r AND unit_key IN (SELECT unit_key FROM units WHERE run_id = @r AND stage = 'capture')", ("r", run)))
            .Select(r => r.A).ToHashSet();
        Assert.Subset(workers.Select(w => w.Node).ToHashSet(), nodes);

        var status = Start("status", null, "status", $"{run}", "--db", ledger.ConnectionString);
        Assert.True(await status.WaitForExitAsync() == 0, status.Output);
        Assert.Contains($"run {run} (three-workers): succeeded", status.Output);
        Assert.Contains("capture", status.Output);
        foreach (var node in nodes) Assert.Contains(node, status.Output);
    }

    [Fact]
    public async Task A_worker_killed_mid_run_loses_its_unit_to_the_others_and_nothing_is_committed_twice()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var (port, _, workers) = await StartClusterAsync(ledger.ConnectionString, workers: 3, Slow);
        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", fixture.WriteJob("worker-killed"));

        var (victim, node) = workers[0];
        await Ledger.WaitUntilAsync(async () => await ledger.ScalarAsync<long>(
            "SELECT count(*) FROM unit_attempts WHERE node = @n AND outcome = 'running'", ("n", node)) > 0 &&
            await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done'") >= 2, $"{node} holds a unit");
        victim.Kill();

        Assert.True(await submit.WaitForExitAsync() == 0, submit.Output);
        long run = await ledger.LatestRunAsync();
        await AssertIdenticalToSingleProcessAsync(ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        var lost = await ledger.RowsAsync(
            "SELECT unit_key, outcome, error FROM unit_attempts WHERE run_id = @r AND node = @n AND outcome <> 'done'", ("r", run), ("n", node));
        Assert.NotEmpty(lost);
        Assert.All(lost, a => Assert.Equal("retried", a.B));
        foreach (var (unit, _, _) in lost)
            Assert.Equal(1L, await ledger.ScalarAsync<long>(
                "SELECT count(*) FROM unit_attempts WHERE run_id = @r AND unit_key = @u AND outcome = 'done' AND node <> @n", ("r", run), ("u", unit), ("n", node)));
    }

    [Fact]
    public async Task The_coordinator_killed_mid_run_is_resumed_without_recomputing_finished_units()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var (port, coordinator, workers) = await StartClusterAsync(ledger.ConnectionString, workers: 2, Slow);
        var job = fixture.WriteJob("coordinator-killed");
        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", job);

        await Ledger.WaitUntilAsync(async () => await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done'") >= 4, "4 units are done");
        coordinator.Kill();
        Assert.Equal(1, await submit.WaitForExitAsync());
        Assert.Contains("sweep run --resume", submit.Output);
        foreach (var (worker, _) in workers) worker.Kill();

        long run = await ledger.LatestRunAsync();
        Assert.Equal("running", await ledger.RunStatusAsync(run));
        var finished = (await ledger.RowsAsync("SELECT unit_key, attempts::text FROM units WHERE run_id = @r AND status = 'done'", ("r", run)))
            .ToDictionary(r => r.A, r => r.B);
        var total = await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r", ("r", run));
        Assert.InRange(finished.Count, 4, (int)total - 1);

        var resume = Start("resume", null, "run", "--resume", $"{run}", "--db", ledger.ConnectionString);
        Assert.True(await resume.WaitForExitAsync() == 0, resume.Output);

        await AssertIdenticalToSingleProcessAsync(ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        var after = (await ledger.RowsAsync("SELECT unit_key, attempts::text FROM units WHERE run_id = @r", ("r", run))).ToDictionary(r => r.A, r => r.B);
        foreach (var (unit, attempts) in finished) Assert.True(after[unit] == attempts, $"finished unit {unit} ran again");
        Assert.Equal(0L, await ledger.ScalarAsync<long>("SELECT count(*) FROM unit_attempts WHERE run_id = @r AND outcome = 'running'", ("r", run)));
    }

    [Fact]
    public async Task A_replacement_coordinator_joins_the_surviving_workers_and_resumes_the_run_through_the_cluster()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var (port, coordinator, workers) = await StartClusterAsync(ledger.ConnectionString, workers: 2, Slow);
        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", fixture.WriteJob("coordinator-replaced"));
        await Ledger.WaitUntilAsync(async () => await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done'") >= 3, "3 units are done");
        coordinator.Kill();
        Assert.Equal(1, await submit.WaitForExitAsync());
        long run = await ledger.LatestRunAsync();
        var finished = (await ledger.RowsAsync("SELECT unit_key, attempts::text FROM units WHERE run_id = @r AND status = 'done'", ("r", run)))
            .ToDictionary(r => r.A, r => r.B);

        // The operator starts a new coordinator that seeds from a surviving worker; the workers greet it once the old one is gone.
        int replacement = SweepProcess.FreePort();
        var successor = Start("successor", Slow, "node", "--roles", "coordinator,reducer", "--port", $"{replacement}",
            "--seed", workers[0].Node, "--db", ledger.ConnectionString);
        await successor.WaitForLineAsync("admitted by the coordinator");
        var resume = Start("resume", null, "run", "--cluster", $"127.0.0.1:{replacement}", "--resume", $"{run}");
        Assert.True(await resume.WaitForExitAsync() == 0, resume.Output + "\n--- successor:\n" + successor.Output);

        await AssertIdenticalToSingleProcessAsync(ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        var after = (await ledger.RowsAsync("SELECT unit_key, attempts::text FROM units WHERE run_id = @r", ("r", run))).ToDictionary(r => r.A, r => r.B);
        foreach (var (unit, attempts) in finished) Assert.True(after[unit] == attempts, $"finished unit {unit} ran again");
        var captureNodes = (await ledger.RowsAsync(
            "SELECT DISTINCT a.node FROM unit_attempts a JOIN units u USING (run_id, unit_key) WHERE a.run_id = @r AND u.stage = 'capture' AND a.started_at > (SELECT max(started_at) FROM unit_attempts WHERE run_id = @r AND outcome = 'abandoned')",
            ("r", run))).Select(r => r.A).ToList();
        Assert.NotEmpty(captureNodes);
        Assert.All(captureNodes, n => Assert.Contains(n, workers.Select(w => w.Node)));
    }

    [Fact]
    public async Task A_database_restart_mid_run_pauses_the_run_which_then_completes()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var run = Start("run", Slow, "run", fixture.WriteJob("database-restart"), "--db", ledger.ConnectionString);

        await Ledger.WaitUntilAsync(async () => await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done'") >= 2, "2 units are done");
        long total = await ledger.ScalarAsync<long>("SELECT count(*) FROM units");
        long doneBeforeRestart = await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done'");
        await fixture.RestartServerAsync();

        Assert.True(await run.WaitForExitAsync() == 0, run.Output);
        Assert.True(doneBeforeRestart < total, "the restart should fall in the middle of the run");
        long id = await ledger.LatestRunAsync();
        await AssertIdenticalToSingleProcessAsync(ledger, id);
        await AssertEveryUnitCommittedOnceAsync(ledger, id);
    }
}
