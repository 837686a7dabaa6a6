using Sweep.Storage.Database;

namespace Sweep.Actors.Hosting;

/// <summary>
/// The database a command talks to: the server named by --db / SWEEP_DB / the job's output.database,
/// or else Sweep's own embedded server in SWEEP_HOME/postgres, started here (or joined, when another process
/// runs it) and let go of on dispose: the last process using it stops it.
/// </summary>
public sealed class DatabaseSession : IAsyncDisposable
{
    public SweepDatabase Database { get; }
    /// <summary>Where the data is, for people: a URL without any password.</summary>
    public string Description { get; }
    public EmbeddedPostgres? Embedded { get; }

    private DatabaseSession(SweepDatabase database, string description, EmbeddedPostgres? embedded)
    {
        Database = database; Description = description; Embedded = embedded;
    }

    public static async Task<DatabaseSession> OpenAsync(string? connection, string sweepHome, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(connection))
            return new DatabaseSession(await SweepDatabase.OpenAsync(connection, ct), ConnectionStrings.Describe(connection), null);

        var embedded = await EmbeddedPostgres.StartAsync(EmbeddedDataDirectory(CheckHome(sweepHome)), ct);
        try
        {
            var database = await SweepDatabase.OpenAsync(embedded.ConnectionString, ct);
            return new DatabaseSession(database, embedded.ConnectionUrl, embedded);
        }
        catch
        {
            await embedded.DisposeAsync();
            throw;
        }
    }

    /// <summary>Refuses a home that is a file, in one line naming it; returns it unchanged otherwise.</summary>
    public static string CheckHome(string sweepHome)
    {
        if (File.Exists(sweepHome))
            throw new EmbeddedPostgresException($"--home {sweepHome} is a file, expected a directory (Sweep's own folder: its embedded PostgreSQL lives in HOME/postgres)");
        return sweepHome;
    }

    public static string EmbeddedDataDirectory(string sweepHome) => Path.Combine(Path.GetFullPath(sweepHome), "postgres");

    /// <summary>SWEEP_HOME, or .sweep in the current directory.</summary>
    public static string DefaultHome() => Environment.GetEnvironmentVariable("SWEEP_HOME") is { Length: > 0 } home ? home : ".sweep";

    /// <summary>--db, else SWEEP_DB, else the job's own setting; null means the embedded server.</summary>
    public static string? ChooseConnection(string? commandLine, string? fromJob) =>
        commandLine ?? (Environment.GetEnvironmentVariable("SWEEP_DB") is { Length: > 0 } env ? env : null) ?? fromJob;

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        if (Embedded != null) await Embedded.DisposeAsync();
    }
}
