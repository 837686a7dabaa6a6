using Npgsql;
using Sweep.Models.Demo;
using Sweep.Storage.Database;
using Sweep.Tests.Common;

namespace Sweep.Cluster.Tests;

/// <summary>
/// One real PostgreSQL server (Sweep's embedded one) and one workspace (demo models, a small corpus) for
/// every cluster test; each test gets its own database and store. The server can be restarted mid-test.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly string _pgRoot = Path.Combine(Path.GetTempPath(), "sweep-cluster-pg-" + Guid.NewGuid().ToString("N")[..8]);
    public string Workspace { get; } = Directory.CreateTempSubdirectory("sweep-cluster-").FullName;
    public EmbeddedPostgres Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Server = await EmbeddedPostgres.StartAsync(_pgRoot);
        var corpus = File.ReadLines(Path.Combine(Fixtures.RepoRoot, "demo", "corpus.txt")).Take(32).ToList();
        File.WriteAllLines(Path.Combine(Workspace, "corpus.txt"), corpus);
        TinyRandomModels.Write(Path.Combine(Workspace, "models"), string.Join("\n", corpus));
    }

    public async Task DisposeAsync()
    {
        await Server.StopAsync();
        try { Directory.Delete(_pgRoot, recursive: true); } catch (IOException) { }
        try { Directory.Delete(Workspace, recursive: true); } catch (IOException) { }
    }

    /// <summary>A fresh, empty database on the server, as a connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "cl_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(Server.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Server.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Stops the server (cutting every connection) and starts it again on the same socket.</summary>
    public async Task RestartServerAsync()
    {
        await Server.StopAsync();
        Server = await EmbeddedPostgres.StartAsync(_pgRoot);
        NpgsqlConnection.ClearAllPools(); // this test process's own pooled connections died with the old server
    }

    private readonly SemaphoreSlim _referenceGate = new(1, 1);
    private Dictionary<string, double>? _reference;

    /// <summary>The job's metrics from one plain single-process `sweep run` (computed once, in its own store and database).</summary>
    public async Task<Dictionary<string, double>> ReferenceMetricsAsync()
    {
        await _referenceGate.WaitAsync();
        try
        {
            if (_reference is not null) return _reference;
            var ledger = new Ledger(await CreateDatabaseAsync());
            await using var run = SweepProcess.Start(Workspace, "reference", null, "run", WriteJob("reference"), "--db", ledger.ConnectionString);
            Assert.True(await run.WaitForExitAsync() == 0, run.Output);
            _reference = await ledger.MetricsAsync(await ledger.LatestRunAsync());
            Assert.Equal(6, _reference.Count);
            return _reference;
        }
        finally
        {
            _referenceGate.Release();
        }
    }

    /// <summary>
    /// Writes a job over the shared models and corpus; each test names its own store so no shard is shared.
    /// Short leases make lost units come back within seconds; the spare attempts keep a busy 2-core machine
    /// (a heartbeat starved past its lease) from failing a run that only needed patience.
    /// </summary>
    public string WriteJob(string name, int leaseSeconds = 3, int maxAttempts = 5)
    {
        var path = Path.Combine(Workspace, $"{name}.yaml");
        File.WriteAllText(path, $"""
            version: 1
            name: {name}
            corpus:
              path: corpus.txt
              max_tokens: 32
              sequences_per_shard: 6
            models:
              - name: tiny-a
                path: models/tiny-a
              - name: tiny-b
                path: models/tiny-b
            captures:
              - model: tiny-a
                sites: [blocks.0.hook_resid_pre, blocks.1.hook_resid_post, blocks.3.hook_resid_post]
              - model: tiny-b
                sites: [blocks.2.hook_resid_post]
            analyses:
              - name: layer-cka
                kind: cka
            execution:
              device: cpu
              batch_size: 4
              lease_seconds: {leaseSeconds}
              max_attempts: {maxAttempts}
            output:
              store: store-{name}
            """);
        return path;
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
