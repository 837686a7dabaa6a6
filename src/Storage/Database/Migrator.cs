using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Sweep.Storage.Database;

/// <summary>One schema migration: an embedded <c>Database/Migrations/NNNN_name.sql</c> file.</summary>
public sealed record Migration(int Version, string Name, string Sql);

/// <summary>
/// Applies the embedded migrations in version order, each in its own transaction, and records
/// them in <c>schema_migrations</c>. An advisory lock serialises concurrent migrators, so two
/// processes starting at once apply each migration exactly once.
/// </summary>
public static partial class Migrator
{
    // Arbitrary constant shared by every Sweep process: "Sweep" in ASCII.
    private const long AdvisoryLockKey = 0x5377656570;
    private const string ResourcePrefix = "Sweep.Storage.Migrations.";

    public static IReadOnlyList<Migration> All { get; } = LoadEmbedded();

    public static int LatestVersion => All[^1].Version;

    /// <summary>Applies pending migrations; returns the versions applied by this call.</summary>
    public static async Task<IReadOnlyList<int>> MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct = default)
    {
        var applied = new List<int>();
        foreach (var migration in All)
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var tx = await connection.BeginTransactionAsync(ct);
            await Execute(connection, tx, "SELECT pg_advisory_xact_lock(@key)", ct, ("key", AdvisoryLockKey));
            await Execute(connection, tx, """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer     PRIMARY KEY,
                    name       text        NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, ct);

            var current = await CurrentVersionAsync(connection, tx, ct);
            if (current > LatestVersion)
                throw new InvalidOperationException(
                    $"the database schema is at version {current}, newer than this Sweep knows ({LatestVersion}); upgrade Sweep or use another database");
            if (await IsAppliedAsync(connection, tx, migration.Version, ct)) { await tx.CommitAsync(ct); continue; }

            await Execute(connection, tx, migration.Sql, ct);
            await Execute(connection, tx, "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)", ct,
                ("version", migration.Version), ("name", migration.Name));
            await tx.CommitAsync(ct);
            applied.Add(migration.Version);
        }
        return applied;
    }

    private static async Task<int> CurrentVersionAsync(NpgsqlConnection connection, NpgsqlTransaction tx, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT coalesce(max(version), 0) FROM schema_migrations", connection, tx);
        return Convert.ToInt32(await command.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
    }

    private static async Task<bool> IsAppliedAsync(NpgsqlConnection connection, NpgsqlTransaction tx, int version, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = @version)", connection, tx);
        command.Parameters.AddWithValue("version", version);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction tx, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static List<Migration> LoadEmbedded()
    {
        var assembly = typeof(Migrator).Assembly;
        var migrations = new List<Migration>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var file = resource[ResourcePrefix.Length..];
            var match = FileName().Match(file);
            if (!match.Success)
                throw new InvalidOperationException($"migration resource '{file}' must be named NNNN_name.sql");
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            migrations.Add(new Migration(int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture), match.Groups[2].Value, reader.ReadToEnd()));
        }
        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        // Versions only need to be unique and ordered: parallel branches reserve numbers ahead of merging.
        for (var i = 1; i < migrations.Count; i++)
            if (migrations[i].Version == migrations[i - 1].Version)
                throw new InvalidOperationException($"two migrations are numbered {migrations[i].Version}");
        if (migrations.Count == 0) throw new InvalidOperationException("no embedded migrations found in Sweep.Storage");
        return migrations;
    }

    [GeneratedRegex(@"^(\d{4})_([a-z0-9_]+)\.sql$")]
    private static partial Regex FileName();
}
