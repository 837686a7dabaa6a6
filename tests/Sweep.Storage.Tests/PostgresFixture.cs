using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>One embedded PostgreSQL server for every database test, in a temp directory removed at the end.</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "sweep-storage-tests-" + Guid.NewGuid().ToString("N")[..8]);
    public EmbeddedPostgres Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await EmbeddedPostgres.StartAsync(Root);

    public async Task DisposeAsync()
    {
        await Server.StopAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    public Task<SweepDatabase> OpenAsync() => SweepDatabase.OpenAsync(Server.ConnectionString);

    /// <summary>Creates an empty database on the server and returns its connection string.</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(Server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }
        return new NpgsqlConnectionStringBuilder(Server.ConnectionString) { Database = name }.ConnectionString;
    }

    public static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
