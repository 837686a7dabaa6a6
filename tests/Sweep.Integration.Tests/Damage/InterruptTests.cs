using static Sweep.Integration.Tests.Damage.DamageTools;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 7): `sweep run` prints its run id before any work; SIGINT or SIGTERM stops it cleanly: the
/// run is marked interrupted with no unit or attempt left running, the process exits 130 or 143 saying how to resume,
/// the embedded PostgreSQL it started is stopped, and `--resume` finishes the run with the results of one never stopped.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class InterruptTests(ServerFixture server)
{
    // Slow enough that the signal lands while units are still to do, even on a busy machine (only the stopped run is slowed).
    private static readonly Dictionary<string, string> SlowUnits = new() { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "1500" };

    /// <summary>Starts `sweep run job.yaml` (with <paramref name="extra"/> arguments), waits for its first finished capture unit, sends <paramref name="signal"/>.</summary>
    private static async Task<SweepProcess.Result> InterruptAsync(JobWorkspace workspace, string signal, params string[] extra)
    {
        using var run = SweepProcess.Start(workspace.Root, SlowUnits, ["run", "job.yaml", .. extra]);
        var seen = new List<string>();
        var first = await ReadUntilAsync(run, seen, _ => true);
        Assert.Equal("run 1 started; if it stops before the end, sweep run --resume 1 continues it", first);
        await ReadUntilAsync(run, seen, l => l.StartsWith("capture ", StringComparison.Ordinal));
        Send(run, signal);
        return await SweepProcess.WaitAsync(run);
    }

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public async Task A_signal_marks_the_run_interrupted_with_nothing_running_and_resume_finishes_it_with_the_results_of_an_uninterrupted_run(string signal, int exitCode)
    {
        using var workspace = new JobWorkspace(documents: 16);
        var connection = await server.CreateDatabaseAsync();

        var stopped = await InterruptAsync(workspace, signal, "--db", connection);

        Assert.True(stopped.ExitCode == exitCode, $"exit {stopped.ExitCode}: {stopped.Stderr}");
        Assert.Equal(
        [
            $"sweep: SIG{signal}: stopping cleanly (send it again to exit at once)",
            $"sweep: run 1 interrupted (SIG{signal}): sweep run --resume 1 continues it",
        ], stopped.StderrLines);
        var row = Assert.Single(await RowsAsync(connection, "SELECT status, error, finished_at IS NOT NULL FROM runs"));
        Assert.Equal(new object?[] { "interrupted", $"stopped by SIG{signal}", true }, row);
        Assert.Equal(0, await RunningRowsAsync(connection, 1));
        Assert.NotEmpty(await RowsAsync(connection, "SELECT 1 FROM units WHERE run_id = 1 AND status <> 'done'"));
        var status = await SweepProcess.RunAsync(workspace.Root, "status", "1", "--db", connection);
        Assert.StartsWith($"run 1 (integration): interrupted: stopped by SIG{signal}, started ", status.Stdout);
        Assert.Contains("\nsweep run --resume 1 continues it\n", status.Stdout.ReplaceLineEndings("\n"));

        var resumed = await SweepProcess.RunAsync(workspace.Root, "run", "--resume", "1", "--db", connection);

        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Empty(resumed.StderrLines);
        Assert.StartsWith("run 1 resumed; if it stops before the end, sweep run --resume 1 continues it\n", resumed.Stdout.ReplaceLineEndings("\n"));
        Assert.Equal("succeeded", Assert.Single(await RowsAsync(connection, "SELECT status FROM runs"))[0]);
        Assert.Equal(0, await RunningRowsAsync(connection, 1));
        // The same job run whole, in a workspace and database of its own.
        using var other = new JobWorkspace(documents: 16);
        var reference = await server.CreateDatabaseAsync();
        var whole = await SweepProcess.RunAsync(other.Root, "run", "job.yaml", "--db", reference);
        Assert.True(whole.ExitCode == 0, whole.Stderr);
        var expected = await MetricLinesAsync(reference, 1);
        Assert.NotEmpty(expected);
        Assert.Equal(expected, await MetricLinesAsync(connection, 1));
    }

    [Fact]
    public async Task SIGINT_on_a_run_that_started_the_embedded_server_stops_the_server_and_status_names_the_resume_command()
    {
        using var workspace = new JobWorkspace(documents: 16);

        var stopped = await InterruptAsync(workspace, "INT");

        Assert.True(stopped.ExitCode == 130, $"exit {stopped.ExitCode}: {stopped.Stderr}");
        Assert.Equal("sweep: run 1 interrupted (SIGINT): sweep run --resume 1 continues it", stopped.StderrLines[^1]);
        var home = Path.Combine(workspace.Root, ".sweep", "postgres");
        var pointer = Path.Combine(home, "cluster-dir");
        var cluster = File.Exists(pointer) ? File.ReadAllText(pointer).Trim() : home;
        Assert.False(File.Exists(Path.Combine(cluster, "pgdata", "postmaster.pid")), "the interrupted run stops the server it started");

        var status = await SweepProcess.RunAsync(workspace.Root, "status");
        Assert.True(status.ExitCode == 0, status.Stderr);
        Assert.StartsWith("run 1 (integration): interrupted: stopped by SIGINT, started ", status.Stdout);
        Assert.Contains("\nsweep run --resume 1 continues it\n", status.Stdout.ReplaceLineEndings("\n"));
        var resumed = await SweepProcess.RunAsync(workspace.Root, "run", "--resume", "1");
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        Assert.Contains("run 1 (integration): succeeded", (await SweepProcess.RunAsync(workspace.Root, "status")).Stdout);
    }
}
