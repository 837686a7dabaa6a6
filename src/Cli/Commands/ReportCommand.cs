using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Cli.Reports;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep report [RUN] [--out DIR]</c>: a run's results from PostgreSQL as one offline HTML page and PNG figures.</summary>
internal static class ReportCommand
{
    public static Command Create()
    {
        var run = RunSelection.Argument();
        var output = new Option<string?>("--out") { Description = "folder for report.html and the figures (default: the run's store, reports/run-ID)" };
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("report", "Write a run's results as a self-contained HTML report with PNG figures") { run, output, database, home };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            await using var session = await DatabaseSession.OpenAsync(
                CommonOptions.ChooseDatabase(parse, database, null), parse.GetValue(home)!, ct);
            var record = await RunSelection.FindAsync(session, parse.GetValue(run), ct);
            var path = await ReportWriter.WriteAsync(session.Database, record, parse.GetValue(output) ?? ReportWriter.DefaultDirectory(record), ct);
            Console.WriteLine($"report: {path}");
            return ExitCodes.Success;
        }));
        return command;
    }
}
