using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Storage.Database;

namespace Sweep.Cli.Commands;

internal static class CommonOptions
{
    public static Option<string?> Database() => new("--db")
    {
        Description = "PostgreSQL to use (postgresql://user@host:port/db or key=value); default SWEEP_DB, then the job's output.database, then Sweep's own embedded server",
    };

    /// <summary>
    /// The connection a command uses: --db, else SWEEP_DB, else the job's own; null means the embedded server.
    /// A password on the command line is visible to every user in the process list: say so, once, on stderr.
    /// </summary>
    public static string? ChooseDatabase(ParseResult parse, Option<string?> database, string? fromJob = null)
    {
        var given = parse.GetValue(database);
        if (given is not null && ConnectionStrings.HasPassword(given))
            Console.Error.WriteLine("sweep: warning: the --db connection carries a password, which other users can read in the process list; " +
                                    "leave it out and set PGPASSWORD or a ~/.pgpass entry instead");
        return DatabaseSession.ChooseConnection(given, fromJob);
    }

    public static Option<string> Home() => new("--home")
    {
        Description = "Sweep's own folder, holding the embedded PostgreSQL data (default SWEEP_HOME or ./.sweep)",
        DefaultValueFactory = _ => DatabaseSession.DefaultHome(),
    };

    public static Argument<FileInfo> JobFile() => new("job") { Description = "the job file (YAML)" };
}
