namespace Sweep.Cluster.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 8): Akka's own log (a node leaving, a lost connection, with their stack traces) stays out
/// of the user's terminal; asked for with --log-file it goes to that file. Losing the coordinator leaves the submitter
/// with Sweep's one line and the resume command, nothing else.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class AkkaLogTests(ClusterFixture fixture) : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Slow = new() { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "1000" };
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

    private static string[] AkkaNoise => ["Disassociated", "Exception", "Association", "[WARNING]", "[ERROR]", "   at "];

    [Fact]
    public async Task A_node_leaving_and_the_coordinator_lost_print_only_Sweeps_own_lines_and_Akkas_log_goes_to_the_log_file()
    {
        var ledger = new Ledger(await fixture.CreateDatabaseAsync());
        var coordinatorLog = Path.Combine(fixture.Workspace, "akka-coordinator.log");
        var submitLog = Path.Combine(fixture.Workspace, "akka-submit.log");
        int port = SweepProcess.FreePort(), workerPort = SweepProcess.FreePort();
        var coordinator = Start("coordinator", Slow, "node", "--roles", "coordinator,reducer", "--port", $"{port}", "--db", ledger.ConnectionString,
            "--log-file", coordinatorLog);
        await coordinator.WaitForLineAsync("admitted by the coordinator");
        var worker = Start("worker", Slow, "node", "--roles", "worker", "--seed", $"127.0.0.1:{port}", "--port", $"{workerPort}");
        await worker.WaitForLineAsync("admitted by the coordinator");
        var submit = Start("submit", null, "run", "--cluster", $"127.0.0.1:{port}", fixture.WriteJob("akka-log"), "--log-file", submitLog);
        await submit.WaitForLineAsync("submitted to the cluster");

        // A worker vanishes: the coordinator's Akka logs the lost association (in its log file, not its terminal).
        worker.Kill();
        await Ledger.WaitUntilAsync(() => Task.FromResult(File.Exists(coordinatorLog) && File.ReadLines(coordinatorLog).Any(l =>
                l.Contains($"127.0.0.1:{workerPort}") && (l.Contains("Disassociated") || l.Contains("Unreachable") || l.Contains("failed")))),
            "the coordinator's Akka log records the lost worker");
        coordinator.Kill();

        Assert.Equal(1, await submit.WaitForExitAsync());
        long run = await ledger.LatestRunAsync();
        Assert.Equal(
        [
            $"run {run}: submitted to the cluster at 127.0.0.1:{port}",
            $"sweep: run {run} failed: lost the cluster's coordinator while run {run} was running; continue it with: sweep run --resume {run}",
        ], submit.Output.Split('\n').Select(l => l.Split(" (")[0]));
        foreach (var noise in AkkaNoise)
        {
            Assert.DoesNotContain(noise, coordinator.Output);
            Assert.DoesNotContain(noise, submit.Output);
        }
        Assert.Contains("127.0.0.1:" + port, File.ReadAllText(submitLog));   // the submitter's log has the lost connection
        Assert.Equal("running", await ledger.RunStatusAsync(run));   // nothing claims the run ended: it is resumable
    }
}
