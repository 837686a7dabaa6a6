namespace Sweep.Cluster.Tests;

/// <summary>`sweep run --resume RUN` on runs interrupted in ways a crash leaves them: shards checked, jobs compared by digest.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ResumeTests(ClusterFixture fixture) : IAsyncLifetime
{
    private readonly List<SweepProcess> _processes = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var process in _processes) await process.DisposeAsync();
    }

    private async Task<SweepProcess> RunToEndAsync(string name, params string[] args)
    {
        var process = SweepProcess.Start(fixture.Workspace, name, null, args);
        _processes.Add(process);
        await process.WaitForExitAsync();
        return process;
    }

    /// <summary>Runs a job to the end, then makes it look interrupted: status running, the analyses not done.</summary>
    private async Task<(Ledger Ledger, long Run, string Job)> InterruptedRunAsync(string name)
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var job = fixture.WriteJob(name);
        var first = await RunToEndAsync("first", "run", job, "--db", ledger.ConnectionString);
        Assert.True(first.Output.Contains("succeeded"), first.Output);
        long run = await ledger.LatestRunAsync();
        await ledger.ScalarAsync<int>("""
            UPDATE runs SET status = 'running', finished_at = NULL WHERE run_id = @r;
            UPDATE units SET status = 'running' WHERE run_id = @r AND stage = 'analysis';
            DELETE FROM metrics WHERE run_id = @r;
            SELECT 1
            """, ("r", run));
        return (ledger, run, job);
    }

    [Fact]
    public async Task A_done_unit_whose_shard_changed_on_disk_runs_again_and_the_others_are_kept()
    {
        var (ledger, run, _) = await InterruptedRunAsync("resume-corrupt");
        var shards = await ledger.RowsAsync("SELECT unit_key, uri FROM shards WHERE run_id = @r ORDER BY unit_key, uri", ("r", run));
        var (corruptUnit, corruptFile, _) = shards[0];
        var bytes = File.ReadAllBytes(corruptFile);
        bytes[^100] ^= 0xFF;
        File.WriteAllBytes(corruptFile, bytes);
        File.Delete(shards.First(s => s.A != corruptUnit).B); // a missing shard: its unit runs again too
        var missingUnit = shards.First(s => s.A != corruptUnit).A;

        var resume = await RunToEndAsync("resume", "run", "--resume", $"{run}", "--db", ledger.ConnectionString);
        Assert.True(resume.Output.Contains($"run {run} succeeded"), resume.Output);

        Assert.Equal("succeeded", await ledger.RunStatusAsync(run));
        var expected = await fixture.ReferenceMetricsAsync();
        var actual = await ledger.MetricsAsync(run);
        foreach (var (key, value) in expected) Assert.True(value == actual[key], key);
        var units = (await ledger.RowsAsync("SELECT unit_key, attempts::text, commits::text FROM units WHERE run_id = @r AND stage = 'capture'", ("r", run)))
            .ToDictionary(u => u.A, u => (Attempts: u.B, Commits: u.C));
        foreach (var (unit, (attempts, commits)) in units)
        {
            bool rerun = unit == corruptUnit || unit == missingUnit;
            Assert.True((rerun ? "2" : "1") == attempts && (rerun ? "2" : "1") == commits, $"{unit}: attempts {attempts}, commits {commits}");
        }
        // The file was captured again: every batch verifies, and the catalog holds its checksum.
        Assert.Equal(await ledger.ScalarAsync<string>("SELECT checksum FROM shards WHERE uri = @u", ("u", corruptFile)),
            corruptFile.Contains("_sae_", StringComparison.Ordinal) ? Sweep.Storage.Shards.SparseShardFile.Verify(corruptFile) : Sweep.Storage.Shards.DenseShardFile.Verify(corruptFile));
    }

    [Fact]
    public async Task A_run_whose_job_file_changed_is_not_resumed()
    {
        var (ledger, run, job) = await InterruptedRunAsync("resume-changed");
        File.WriteAllText(job, File.ReadAllText(job).Replace("batch_size: 4", "batch_size: 2"));

        var resume = await RunToEndAsync("resume", "run", "--resume", $"{run}", "--db", ledger.ConnectionString);

        Assert.Contains("the job changed since run", resume.Output);
        Assert.Equal("running", await ledger.RunStatusAsync(run));
    }

    [Fact]
    public async Task A_finished_run_is_not_resumed()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        await RunToEndAsync("first", "run", fixture.WriteJob("resume-finished"), "--db", ledger.ConnectionString);
        var resume = await RunToEndAsync("resume", "run", "--resume", $"{await ledger.LatestRunAsync()}", "--db", ledger.ConnectionString);
        Assert.Contains("already succeeded", resume.Output);
    }

    [Fact]
    public async Task A_resumed_run_reuses_the_partial_files_that_verify_and_recomputes_a_damaged_one()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var job = fixture.WriteDenseJob("resume-partials", shardsPerUnit: 1);
        var first = SweepProcess.Start(fixture.Workspace, "first", new Dictionary<string, string> { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "300" },
            "run", job, "--db", ledger.ConnectionString);
        _processes.Add(first);
        // Killed once some map units are done and no merge is (merges are queued after every map): their partials are still needed.
        await Ledger.WaitUntilAsync(async () =>
            await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done' AND description LIKE '% map %'") >= 3 &&
            await ledger.ScalarAsync<long>("SELECT count(*) FROM units WHERE status = 'done' AND description LIKE '% merge %'") == 0, "3 map units are done");
        first.Kill();
        await first.WaitForExitAsync();
        long run = await ledger.LatestRunAsync();
        var maps = (await ledger.RowsAsync("SELECT unit_key, output_uri FROM units WHERE run_id = @r AND status = 'done' AND description LIKE '% map %' ORDER BY unit_key", ("r", run)))
            .ToDictionary(r => r.A, r => r.B);
        Assert.True(maps.Count >= 3 && maps.Values.All(File.Exists), "done map units keep their partial files");
        var damaged = maps.Keys.First();
        var bytes = File.ReadAllBytes(maps[damaged]);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(maps[damaged], bytes);

        var resume = await RunToEndAsync("resume", "run", "--resume", $"{run}", "--db", ledger.ConnectionString);
        Assert.True(resume.Output.Contains($"run {run} succeeded"), resume.Output);

        var attempts = (await ledger.RowsAsync("SELECT unit_key, attempts::text, commits::text FROM units WHERE run_id = @r", ("r", run))).ToDictionary(r => r.A, r => (r.B, r.C));
        foreach (var key in maps.Keys) Assert.Equal(key == damaged ? ("2", "2") : ("1", "1"), attempts[key]);
        var (expected, expectedRun) = await fixture.SingleProcessRunAsync(job);
        const string metrics = "SELECT analysis, measure, value, n_tokens, params::text FROM metrics WHERE run_id = @r";
        const string matches = "SELECT direction, feature, rank, match, correlation FROM feature_matches WHERE run_id = @r";
        Assert.Equal(await expected.LinesAsync(metrics, expectedRun), await ledger.LinesAsync(metrics, run));
        Assert.Equal(await expected.LinesAsync(matches, expectedRun), await ledger.LinesAsync(matches, run));
        // partials/run-ID/ANALYSIS/KEY.partial: a succeeded run's partials are removed.
        Assert.False(Directory.Exists(Path.GetDirectoryName(Path.GetDirectoryName(maps[damaged]))), "a succeeded run's partial files are removed");
    }
}
