using System.CommandLine;
using Spectre.Console;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Pipeline.Runs;
using Sweep.Cli.Rendering;
using Sweep.Storage.Database;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep status [RUN]</c>: a run's state from the ledger, units per stage and attempts per node.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var run = RunSelection.Argument();
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("status", "Show a run's units done/running/failed per stage and per node, from the ledger") { run, database, home };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            await using var session = await DatabaseSession.OpenAsync(
                CommonOptions.ChooseDatabase(parse, database, null), parse.GetValue(home)!, ct);
            var db = session.Database;
            var record = await RunSelection.FindAsync(session, parse.GetValue(run), ct);
            Print(record, await db.GetStageProgressAsync(record.RunId, ct), await db.GetNodeProgressAsync(record.RunId, ct),
                (await db.GetUnitsAsync(record.RunId, ct)).Where(u => u.Status == UnitStatus.Failed).ToList());
            return ExitCodes.Success;
        }));
        return command;
    }

    private static void Print(RunRecord run, IReadOnlyList<StageProgress> stages, IReadOnlyList<NodeProgress> nodes, IReadOnlyList<UnitState> failed)
    {
        Console.WriteLine($"run {run.RunId} ({run.Name}): {run.Status.ToString().ToLowerInvariant()}" +
                          (run.Error is null ? "" : $": {run.Error}") +
                          (run.StartedAt is { } started ? $", started {started:u}" : "") +
                          (run.FinishedAt is { } finished ? $", finished {finished:u}" : ""));
        if (RunHeartbeat.Warning(run) is { } warning) Console.WriteLine(warning);
        if (run.Status == RunStatus.Interrupted) Console.WriteLine($"sweep run --resume {run.RunId} continues it");
        if (!Terminal.IsInteractive) AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        var byStage = new Table().AddColumns("stage", "done", "running", "pending", "failed", "retries");
        foreach (var s in stages) byStage.AddRow(s.Stage, $"{s.Done}", $"{s.Running}", $"{s.Pending}", $"{s.Failed}", $"{s.Retries}");
        var byNode = new Table().AddColumns("node", "done", "running", "retried", "failed");
        foreach (var n in nodes) byNode.AddRow(Markup.Escape(n.Node), $"{n.Done}", $"{n.Running}", $"{n.Retried}", $"{n.Failed}");
        if (!Terminal.IsInteractive) { byStage.Border(TableBorder.Ascii); byNode.Border(TableBorder.Ascii); }
        AnsiConsole.Write(byStage);
        AnsiConsole.Write(byNode);
        foreach (var unit in failed) Console.WriteLine($"failed: {unit.Description}: {unit.Error}");
    }
}
