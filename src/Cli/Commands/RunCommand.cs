using System.CommandLine;
using Spectre.Console;
using Sweep.Actors.Execution;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Cli.Rendering;
using Sweep.Jobs.Spec;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep run FILE</c>: validates the job, runs it in this process, prints where the results are.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var job = CommonOptions.JobFile();
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("run", "Run a job: capture activations, compare sites, store results in PostgreSQL") { job, database, home };
        command.SetAction(async (parse, ct) =>
        {
            var spec = ValidateCommand.LoadJob(parse.GetValue(job)!.ToString());
            if (spec == null) return ExitCodes.InvalidJob;
            return await Failures.ReportAsync(async () =>
            {
                await using var session = await DatabaseSession.OpenAsync(
                    DatabaseSession.ChooseConnection(parse.GetValue(database), spec.Output.Database), parse.GetValue(home)!, ct);
                var report = await RunWithProgressAsync(spec, session, ct);
                RunSummary.Print(report, session);
                return ExitCodes.Success;
            });
        });
        return command;
    }

    private static async Task<RunReport> RunWithProgressAsync(JobSpec spec, DatabaseSession session, CancellationToken ct)
    {
        if (!Terminal.IsInteractive)
            return await LocalRunner.RunAsync(spec, session.Database, new PlainRunProgress(Console.Out), ct);
        RunReport? report = null;
        await AnsiConsole.Progress().AutoClear(false).StartAsync(async context =>
            report = await LocalRunner.RunAsync(spec, session.Database, new BarRunProgress(context), ct));
        return report!;
    }
}
