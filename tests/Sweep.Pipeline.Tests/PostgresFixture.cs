using Sweep.Storage.Database;

namespace Sweep.Pipeline.Tests;

/// <summary>One embedded PostgreSQL server for the ledger tests, in a temp directory removed at the end.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sweep-pipeline-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public EmbeddedPostgres Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await EmbeddedPostgres.StartAsync(Root);

    public async Task DisposeAsync()
    {
        await Server.StopAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    public Task<SweepDatabase> OpenAsync() => SweepDatabase.OpenAsync(Server.ConnectionString);
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
