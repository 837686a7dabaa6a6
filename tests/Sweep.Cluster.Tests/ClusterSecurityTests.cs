namespace Sweep.Cluster.Tests;

/// <summary>Who may join: the shared secret, loopback by default, and passwords that never show.</summary>
[Collection(ClusterCollection.Name)]
public sealed class ClusterSecurityTests(ClusterFixture fixture) : IAsyncLifetime
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

    [Fact]
    public async Task A_node_with_the_wrong_shared_secret_is_refused_and_one_with_the_right_secret_is_admitted()
    {
        var connection = await fixture.CreateDatabaseAsync();
        int seed = SweepProcess.FreePort();
        var coordinator = Start("coordinator", new Dictionary<string, string> { ["SWEEP_CLUSTER_SECRET"] = "correct horse" },
            "node", "--roles", "coordinator", "--port", $"{seed}", "--db", connection);
        await coordinator.WaitForLineAsync("admitted by the coordinator");

        var intruder = Start("intruder", new Dictionary<string, string> { ["SWEEP_CLUSTER_SECRET"] = "battery staple" },
            "node", "--roles", "worker", "--seed", $"127.0.0.1:{seed}", "--port", $"{SweepProcess.FreePort()}");
        Assert.Equal(1, await intruder.WaitForExitAsync());
        Assert.Contains("sweep: the cluster refused this node: wrong shared secret", intruder.Output);
        Assert.DoesNotContain("admitted by the coordinator", intruder.Output);

        var member = Start("member", new Dictionary<string, string> { ["SWEEP_CLUSTER_SECRET"] = "correct horse" },
            "node", "--roles", "worker", "--seed", $"127.0.0.1:{seed}", "--port", $"{SweepProcess.FreePort()}");
        await member.WaitForLineAsync("admitted by the coordinator");

        var submit = Start("submit", new Dictionary<string, string> { ["SWEEP_CLUSTER_SECRET"] = "battery staple" },
            "run", "--cluster", $"127.0.0.1:{seed}", fixture.WriteJob("wrong-secret-submit"));
        Assert.Equal(1, await submit.WaitForExitAsync());
        Assert.Contains("the cluster refused the run: wrong shared secret", submit.Output);
        Assert.Equal(0L, await new Ledger(connection).LatestRunAsync());
    }

    [Fact]
    public async Task Remoting_beyond_loopback_without_a_secret_is_refused_before_listening()
    {
        var node = Start("open", null, "node", "--roles", "worker", "--host", "0.0.0.0", "--port", $"{SweepProcess.FreePort()}");
        Assert.Equal(1, await node.WaitForExitAsync());
        Assert.Contains("set SWEEP_CLUSTER_SECRET", node.Output);
    }

    [Fact]
    public async Task A_database_password_is_never_printed()
    {
        var nowhere = Directory.CreateTempSubdirectory("sweep-no-server-").FullName;
        var node = Start("coordinator", null, "node", "--roles", "coordinator", "--port", $"{SweepProcess.FreePort()}",
            "--db", $"postgresql://sweep:hunter2secret@/sweep?host={nowhere}");
        Assert.Equal(1, await node.WaitForExitAsync());
        Assert.Contains("PostgreSQL", node.Output);
        Assert.DoesNotContain("hunter2secret", node.Output);
        Directory.Delete(nowhere);
    }
}
