using System.CommandLine;
using Sweep.Actors.Hosting;

namespace Sweep.Cli.Commands;

internal static class CommonOptions
{
    public static Option<string?> Database() => new("--db")
    {
        Description = "PostgreSQL to use (postgresql://user@host:port/db or key=value); default SWEEP_DB, then the job's output.database, then Sweep's own embedded server",
    };

    public static Option<string> Home() => new("--home")
    {
        Description = "Sweep's own folder, holding the embedded PostgreSQL data (default SWEEP_HOME or ./.sweep)",
        DefaultValueFactory = _ => DatabaseSession.DefaultHome(),
    };

    public static Argument<FileInfo> JobFile() => new("job") { Description = "the job file (YAML)" };
}
