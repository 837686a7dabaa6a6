using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Cli.Export;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep export [RUN] --format parquet|csv --out DIR</c>: every result table of a run as files for pandas/polars.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var run = RunSelection.Argument();
        var format = new Option<string>("--format") { Description = "parquet or csv", DefaultValueFactory = _ => "parquet" };
        format.AcceptOnlyFromAmong("parquet", "csv");
        var output = new Option<string>("--out") { Description = "folder for the files, one per table", Required = true };
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("export", "Write every result table of a run (metrics, feature matches, feature statistics, examples, ...) as Parquet or CSV files")
        {
            run, format, output, database, home,
        };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            await using var session = await DatabaseSession.OpenAsync(
                DatabaseSession.ChooseConnection(parse.GetValue(database), null), parse.GetValue(home)!, ct);
            var record = await RunSelection.FindAsync(session, parse.GetValue(run), ct);
            var kind = parse.GetValue(format) == "csv" ? ExportFormat.Csv : ExportFormat.Parquet;
            foreach (var (table, rows, path) in await ResultExport.WriteAsync(session.Database, record.RunId, kind, parse.GetValue(output)!, ct))
                Console.WriteLine($"{table}: {rows} rows -> {path}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
