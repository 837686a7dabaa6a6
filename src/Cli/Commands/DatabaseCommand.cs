using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Storage.Database;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep db url|start|stop</c>: reach the results database, in particular Sweep's embedded server.</summary>
internal static class DatabaseCommand
{
    public static Command Create()
    {
        var command = new Command("db", "Connect to the results database (Sweep's embedded PostgreSQL unless --db/SWEEP_DB names one)");
        command.Subcommands.Add(Url());
        command.Subcommands.Add(Start());
        command.Subcommands.Add(Stop());
        return command;
    }

    private static Command Url()
    {
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("url", "Print the connection URL (passwords left out); psql accepts it") { database, home };
        command.SetAction(parse =>
        {
            if (CommonOptions.ChooseDatabase(parse, database, null) is { } connection)
            {
                Console.WriteLine(ConnectionStrings.Describe(connection));
                return ExitCodes.Success;
            }
            Console.WriteLine(EmbeddedPostgres.DescribeConnection(DatabaseSession.EmbeddedDataDirectory(parse.GetValue(home)!)));
            Console.Error.WriteLine("(Sweep's embedded server runs only during a run; `sweep db start` keeps it up, `sweep db stop` stops it)");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Start()
    {
        var home = CommonOptions.Home();
        var command = new Command("start", "Start the embedded server and leave it running; prints its URL") { home };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            await using var server = await EmbeddedPostgres.StartAsync(DatabaseSession.EmbeddedDataDirectory(DatabaseSession.CheckHome(parse.GetValue(home)!)), ct);
            await (await SweepDatabase.OpenAsync(server.ConnectionString, ct)).DisposeAsync(); // creates/migrates the schema
            // Counted as one more user of the server until `sweep db stop`; runs that end meanwhile leave it running.
            await server.KeepRunningAsync(ct);
            Console.WriteLine(server.ConnectionUrl);
            return ExitCodes.Success;
        }));
        return command;
    }

    private static Command Stop()
    {
        var home = CommonOptions.Home();
        var command = new Command("stop", "Stop the embedded server (once no run uses it: a running run keeps it until it ends)") { home };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            var result = await EmbeddedPostgres.StopExistingAsync(DatabaseSession.EmbeddedDataDirectory(parse.GetValue(home)!), ct);
            Console.WriteLine(result switch
            {
                { Stopped: true } => "stopped",
                { InUseBy.Count: > 0 } => $"still in use by {result.InUseBy.Count} process(es), so it keeps running and stops after the last one ends: " +
                                          string.Join("; ", result.InUseBy),
                _ => "not running",
            });
            return ExitCodes.Success;
        }));
        return command;
    }
}
