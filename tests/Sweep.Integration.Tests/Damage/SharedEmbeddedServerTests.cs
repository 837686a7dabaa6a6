using System.Diagnostics;
using Npgsql;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 2): several `sweep` processes on one home share Sweep's embedded PostgreSQL. None loses
/// the server under it, the last one to finish stops it, a process killed with SIGKILL does not keep it alive, and
/// `sweep db start` keeps it up until `sweep db stop`.
/// </summary>
public sealed class SharedEmbeddedServerTests
{
    private static readonly Dictionary<string, string> SlowUnits = new() { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "300" };

    private static string DataDirectory(JobWorkspace workspace) => Path.Combine(workspace.Root, ".sweep", "postgres");

    // As root, when the postgres user cannot enter the workspace, the cluster lives elsewhere and cluster-dir says where.
    private static bool ServerRunning(JobWorkspace workspace)
    {
        var pointer = Path.Combine(DataDirectory(workspace), "cluster-dir");
        var clusterHome = File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : DataDirectory(workspace);
        return File.Exists(Path.Combine(clusterHome, "pgdata", "postmaster.pid"));
    }

    private static string[] Holders(JobWorkspace workspace)
    {
        var folder = Path.Combine(DataDirectory(workspace), "holders");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Select(f => Path.GetFileName(f)).ToArray() : [];
    }

    /// <summary>job-N.yaml: the workspace's job with a store of its own, so every run really captures.</summary>
    private static string JobCopy(JobWorkspace workspace, int n)
    {
        var path = Path.Combine(workspace.Root, $"job-{n}.yaml");
        File.WriteAllText(path, File.ReadAllText(workspace.JobPath).Replace("store: store", $"store: store-{n}"));
        return path;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromMinutes(1)) throw new TimeoutException($"waited a minute for: {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Three_runs_at_once_on_one_home_all_succeed_and_the_server_stops_after_the_last()
    {
        using var workspace = new JobWorkspace(documents: 16);
        var processes = Enumerable.Range(1, 3).Select(n => SweepProcess.Start(workspace.Root, SlowUnits, "run", JobCopy(workspace, n))).ToList();
        var results = await Task.WhenAll(processes.Select(SweepProcess.WaitAsync));
        foreach (var p in processes) p.Dispose();

        foreach (var result in results)
        {
            Assert.True(result.ExitCode == 0, result.Stderr);
            Assert.Empty(result.StderrLines);
        }
        Assert.False(ServerRunning(workspace), "the last run to finish stops the server");
        Assert.Empty(Holders(workspace));

        // What the three runs stored: each succeeded with the same six CKA values, and they really overlapped.
        await using var server = await EmbeddedPostgres.StartAsync(DataDirectory(workspace));
        await using var db = new NpgsqlConnection(server.ConnectionString);
        await db.OpenAsync();
        await using (var runs = new NpgsqlCommand("""
            SELECT count(*), count(*) FILTER (WHERE status = 'succeeded'), max(started_at) < min(finished_at) FROM runs
            """, db))
        await using (var reader = await runs.ExecuteReaderAsync())
        {
            await reader.ReadAsync();
            Assert.Equal((3L, 3L), (reader.GetInt64(0), reader.GetInt64(1)));
            Assert.True(reader.GetBoolean(2), "the three runs should have run at the same time");
        }
        await using var values = new NpgsqlCommand("""
            SELECT count(DISTINCT run_id), count(*), count(DISTINCT (site_a, site_b, value)) FROM metrics WHERE measure = 'cka_linear'
            """, db);
        await using var metrics = await values.ExecuteReaderAsync();
        await metrics.ReadAsync();
        Assert.Equal((3L, 18L, 6L), (metrics.GetInt64(0), metrics.GetInt64(1), metrics.GetInt64(2)));
    }

    [Fact]
    public async Task A_holder_killed_with_SIGKILL_does_not_keep_the_server_alive_and_db_start_keeps_it_until_db_stop()
    {
        using var workspace = new JobWorkspace(documents: 8);
        using (var killed = SweepProcess.Start(workspace.Root, new Dictionary<string, string> { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "5000" }, "run", "job.yaml"))
        {
            // "run 1 started; ..." then "capture: N units (0 already done)": the run is recorded and planned, its units are slow.
            Assert.StartsWith("run 1 started; ", await killed.StandardOutput.ReadLineAsync());
            Assert.StartsWith("capture: ", await killed.StandardOutput.ReadLineAsync());
            Assert.True(ServerRunning(workspace) && Holders(workspace).Length == 1, "the run holds a running server");
            killed.Kill();
            await killed.WaitForExitAsync();
        }
        Assert.True(ServerRunning(workspace), "a killed process leaves the server running");
        Assert.Single(Holders(workspace));   // its holder file stays, unlocked

        // The next user finds the dead holder, does not count it, and stops the server when it is done.
        var status = await SweepProcess.RunAsync(workspace.Root, "status");
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.Contains("run 1 (integration): running", status.Stdout);
        Assert.False(ServerRunning(workspace), "the only live user was `sweep status`: it stops the server");
        Assert.Empty(Holders(workspace));

        // `sweep db start` counts as a user until `sweep db stop`: a run in between leaves the server up.
        var start = await SweepProcess.RunAsync(workspace.Root, "db", "start");
        Assert.True(start.ExitCode == 0, start.Stderr);
        var run = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.True(ServerRunning(workspace), "kept by `sweep db start`");
        var stop = await SweepProcess.RunAsync(workspace.Root, "db", "stop");
        Assert.Equal("stopped", stop.Stdout.Trim());
        Assert.False(ServerRunning(workspace));
        Assert.Empty(Holders(workspace));
    }
}
