namespace Sweep.Cluster.Tests;

/// <summary>
/// A cluster that has outgrown one machine: a coordinator node that runs no units, two reducer nodes and a worker node,
/// all real processes. Two SAEs of 4,096 features are trained on the worker (each with a metric row per step), their
/// codes compared by `correlation` and `feature_matching`, a dense site pair by `cka`; every analysis is split into a
/// map unit per corpus shard, merged over both reducers. Nothing a unit produces travels in a message: every stored row
/// must equal the single-process run's, bit for bit, also when a reducer is SIGKILLed in the middle of a merge.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class DistributedAnalysisTests(ClusterFixture fixture) : IAsyncLifetime
{
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

    /// <summary>A coordinator-only node, two reducer nodes and a worker node, all admitted.</summary>
    private async Task<(int Port, List<(SweepProcess Process, string Node)> Reducers, string Worker, string Coordinator)> StartClusterAsync(
        string connection, IReadOnlyDictionary<string, string>? reducerEnv = null)
    {
        int seed = SweepProcess.FreePort();
        var coordinator = Start("coordinator", null, "node", "--roles", "coordinator", "--port", $"{seed}", "--db", connection);
        await coordinator.WaitForLineAsync("admitted by the coordinator");
        var reducers = new List<(SweepProcess, string)>();
        for (int i = 1; i <= 2; i++)
        {
            int port = SweepProcess.FreePort();
            reducers.Add((Start($"reducer-{i}", reducerEnv, "node", "--roles", "reducer", "--seed", $"127.0.0.1:{seed}", "--port", $"{port}"), $"127.0.0.1:{port}"));
        }
        int workerPort = SweepProcess.FreePort();
        var worker = Start("worker", null, "node", "--roles", "worker", "--seed", $"127.0.0.1:{seed}", "--port", $"{workerPort}");
        foreach (var (process, _) in reducers) await process.WaitForLineAsync("admitted by the coordinator");
        await worker.WaitForLineAsync("admitted by the coordinator");
        return (seed, reducers, $"127.0.0.1:{workerPort}", $"127.0.0.1:{seed}");
    }

    private const string Metrics = "SELECT analysis, measure, model_a, site_a, model_b, site_b, value, n_tokens, params::text FROM metrics WHERE run_id = @r";
    private const string Matches = "SELECT analysis, model_a, site_a, model_b, site_b, direction, feature, rank, match, correlation, mutual, dead FROM feature_matches WHERE run_id = @r";
    private const string Shards = "SELECT shard_key, model, site, shard_index, rows, width, dtype, checksum, bytes FROM shards WHERE run_id = @r";

    private async Task AssertSameRowsAsync(Ledger expected, long expectedRun, Ledger actual, long actualRun)
    {
        foreach (var sql in new[] { Metrics, Matches, Shards })
        {
            var want = await expected.LinesAsync(sql, expectedRun);
            var got = await actual.LinesAsync(sql, actualRun);
            Assert.NotEmpty(want);
            Assert.Equal(want.Count, got.Count);
            var differ = want.Zip(got).Where(p => p.First != p.Second).Take(3).ToList();
            Assert.True(differ.Count == 0, "rows differ from the single-process run's:\n" + string.Join("\n", differ.Select(p => $"  single: {p.First}\n  cluster: {p.Second}")));
        }
    }

    private static async Task AssertEveryUnitCommittedOnceAsync(Ledger ledger, long run)
    {
        Assert.Equal(0L, await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r AND commits <> 1", ("r", run)));
        Assert.Equal(0L, await ledger.ScalarAsync<long>(
            "SELECT count(*) FROM (SELECT unit_key FROM unit_attempts WHERE run_id = @r AND outcome = 'done' GROUP BY unit_key HAVING count(*) > 1) d", ("r", run)));
    }

    private async Task<(Ledger Ledger, long Run)> RunClusterAsync(string job, IReadOnlyDictionary<string, string>? reducerEnv,
        Func<Ledger, List<(SweepProcess Process, string Node)>, Task>? during = null)
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var (port, reducers, worker, coordinator) = await StartClusterAsync(ledger.ConnectionString, reducerEnv);
        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", job);
        if (during is not null) await during(ledger, reducers);
        Assert.True(await submit.WaitForExitAsync() == 0, submit.Output + string.Concat(reducers.Select(r => $"\n--- {r.Node}:\n{r.Process.Output}")));
        long run = await ledger.LatestRunAsync();
        Assert.Equal("succeeded", await ledger.RunStatusAsync(run));
        // Reductions ran on the reducer nodes only, never on the coordinator's node; captures and training on the worker.
        var byStage = await ledger.RowsAsync("""
            SELECT DISTINCT u.stage, a.node FROM unit_attempts a JOIN units u USING (run_id, unit_key) WHERE a.run_id = @r AND a.outcome = 'done'
            """, ("r", run));
        Assert.All(byStage.Where(r => r.A is "analysis" or "sae_stats"), r => Assert.Contains(r.B, reducers.Select(x => x.Node)));
        Assert.All(byStage.Where(r => r.A is "capture" or "train_sae"), r => Assert.Equal(worker, r.B));
        Assert.DoesNotContain(byStage, r => r.B == coordinator);
        return (ledger, run);
    }

    [Fact]
    public async Task Reducers_on_their_own_nodes_store_every_row_of_the_single_process_run()
    {
        var job = fixture.WriteSaeJob("distributed");
        var (expected, expectedRun) = await fixture.SingleProcessRunAsync(job);
        var (ledger, run) = await RunClusterAsync(job, reducerEnv: null);

        await AssertSameRowsAsync(expected, expectedRun, ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        // Result files carried hundreds of metric rows per SAE and thousands of feature matches per analysis.
        Assert.True(await ledger.ScalarAsync<long>("SELECT count(*) FROM metrics WHERE run_id = @r AND measure = 'train_mse'", ("r", run)) >= 2 * 150);
        Assert.Equal(2 * 4096L, await ledger.ScalarAsync<long>("SELECT count(*) FROM feature_matches WHERE run_id = @r AND analysis = 'codes-corr' AND rank = 1", ("r", run)));
        Assert.True(await ledger.ScalarAsync<long>("SELECT count(*) FROM feature_matches WHERE run_id = @r AND analysis = 'codes-corr' AND rank = 3", ("r", run)) > 1000);
        Assert.True(await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r AND description LIKE '% merge %'", ("r", run)) >= 3 * 6);
    }

    [Fact]
    public async Task A_reducer_killed_in_the_middle_of_a_merge_loses_it_to_the_other_and_every_row_is_the_single_process_runs()
    {
        var job = fixture.WriteSaeJob("reducer-killed");
        var (expected, expectedRun) = await fixture.SingleProcessRunAsync(job);
        string? victim = null;
        var (ledger, run) = await RunClusterAsync(job, new Dictionary<string, string> { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "150" }, async (ledger, reducers) =>
        {
            // The first reducer seen holding a merge unit is killed while it holds it.
            await Ledger.WaitUntilAsync(async () =>
            {
                var holding = await ledger.RowsAsync("""
                    SELECT a.node FROM unit_attempts a JOIN units u USING (run_id, unit_key)
                    WHERE a.outcome = 'running' AND u.description LIKE '% merge %'
                    """);
                victim = holding.Select(h => h.A).FirstOrDefault(n => reducers.Any(r => r.Node == n));
                return victim is not null;
            }, "a reducer holds a merge unit");
            reducers.Single(r => r.Node == victim).Process.Kill();
        });

        await AssertSameRowsAsync(expected, expectedRun, ledger, run);
        await AssertEveryUnitCommittedOnceAsync(ledger, run);
        var lost = await ledger.RowsAsync("""
            SELECT u.description, a.outcome, a.error FROM unit_attempts a JOIN units u USING (run_id, unit_key)
            WHERE a.run_id = @r AND a.node = @n AND a.outcome <> 'done'
            """, ("r", run), ("n", victim!));
        Assert.Contains(lost, l => l.A.Contains(" merge ", StringComparison.Ordinal) && l.B == "retried");
        Assert.All(lost, l => Assert.Equal("retried", l.B));
    }

    [Fact]
    public async Task One_pair_split_into_a_map_unit_per_shard_and_merged_over_two_reducers_equals_the_one_unit_plan()
    {
        var split = fixture.WriteDenseJob("split", shardsPerUnit: 1);
        var whole = fixture.WriteDenseJob("whole", shardsPerUnit: null);
        var (reference, referenceRun) = await fixture.SingleProcessRunAsync(whole);
        var (ledger, run) = await RunClusterAsync(split, new Dictionary<string, string> { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "200" });

        long maps = await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r AND description LIKE 'corr % map %'", ("r", run));
        Assert.True(maps >= 8, $"the pair should be split into at least 8 map units, was {maps}");
        var mergeNodes = await ledger.RowsAsync("""
            SELECT DISTINCT a.node FROM unit_attempts a JOIN units u USING (run_id, unit_key)
            WHERE a.run_id = @r AND a.outcome = 'done' AND u.description LIKE '% merge %'
            """, ("r", run));
        Assert.Equal(2, mergeNodes.Count);
        Assert.Equal(1L, await reference.ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r AND description LIKE 'corr %'", ("r", referenceRun)));

        // Equal to the one-unit plan up to float64 rounding of the additions (the split adds in another order).
        var want = await reference.LinesAsync("SELECT analysis || '/' || measure, value FROM metrics WHERE run_id = @r", referenceRun);
        var got = await ledger.LinesAsync("SELECT analysis || '/' || measure, value FROM metrics WHERE run_id = @r", run);
        Assert.Equal(want.Select(w => w.Split(" | ")[0]), got.Select(g => g.Split(" | ")[0]));
        foreach (var (w, g) in want.Zip(got))
        {
            double a = double.Parse(w.Split(" | ")[1], System.Globalization.CultureInfo.InvariantCulture);
            double b = double.Parse(g.Split(" | ")[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a)), $"{w} (one unit) vs {g} (split)");
        }
        const string matches = "SELECT direction, feature, rank, match FROM feature_matches WHERE run_id = @r";
        Assert.Equal(await reference.LinesAsync(matches, referenceRun), await ledger.LinesAsync(matches, run));
    }
}
