using Npgsql;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>One real PostgreSQL server (Sweep's embedded one) for all integration tests; each test gets its own database.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sweep-it-pg-" + Guid.NewGuid().ToString("N")[..8]);
    public EmbeddedPostgres Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await EmbeddedPostgres.StartAsync(_root);

    public async Task DisposeAsync()
    {
        await Server.StopAsync();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>A fresh, empty database on the server, as a connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "it_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new NpgsqlConnection(Server.ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Server.ConnectionString) { Database = name }.ConnectionString;
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
