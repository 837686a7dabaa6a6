using System.Globalization;
using Spectre.Console;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Pipeline.Runs;

namespace Sweep.Cli.Rendering;

/// <summary>The end of <c>sweep run</c>: the run id, where shards and results are, and the metric table.</summary>
internal static class RunSummary
{
    /// <summary>The first line of <c>sweep run</c>, before any work: the run's id and how to continue it if it stops.</summary>
    public static string StartLine(long runId, bool resumed) =>
        $"run {runId} {(resumed ? "resumed" : "started")}; if it stops before the end, sweep run --resume {runId} continues it";

    public static void Print(RunReport report, DatabaseSession session)
    {
        var outcome = report.Outcome;
        Console.WriteLine($"run {report.RunId} succeeded: {report.CaptureUnits} capture units ({outcome.UnitsReused} reused from the cache), " +
                          $"{report.AnalysisUnits} analysis units, {report.Tokens} tokens, {outcome.Retries} retries");
        Console.WriteLine($"shards:   {Path.Combine(report.StoreDirectory, Sweep.Storage.StoreLayout.ShardsFolder)}");
        Console.WriteLine($"database: {session.Description}");
        if (session.Embedded is not null)
            Console.WriteLine("          (Sweep's embedded server stops when the last run using it ends; `sweep db start` keeps it up for psql)");
        Console.WriteLine($"          psql \"{session.Description}\" -c \"select * from metrics where run_id = {report.RunId}\"");

        var table = new Table().AddColumns("analysis", "measure", "site A", "site B", "value", "tokens");
        table.Columns[4].RightAligned();
        table.Columns[5].RightAligned();
        // SAE training records its metrics every few steps; the table shows only the last step of each (all are in the database).
        var training = report.Metrics.Where(m => m.Metric.Measure.StartsWith("train_", StringComparison.Ordinal)).ToList();
        var shown = report.Metrics.Except(training)
            .Concat(training.GroupBy(m => (m.Metric.Analysis, m.Metric.Measure)).Select(g => g.MaxBy(m => m.MetricId)!));
        foreach (var stored in shown.OrderBy(m => m.Metric.Analysis).ThenBy(m => m.Metric.ModelA).ThenBy(m => m.Metric.SiteA)
                     .ThenBy(m => m.Metric.ModelB).ThenBy(m => m.Metric.SiteB))
        {
            var m = stored.Metric;
            table.AddRow(Markup.Escape(m.Analysis), Markup.Escape(m.Measure), Markup.Escape($"{m.ModelA}/{m.SiteA}"),
                Markup.Escape(m.ModelB == null ? "" : $"{m.ModelB}/{m.SiteB}"),
                Markup.Escape(m.Stored is ({ } value, _) ? value.ToString("F6", CultureInfo.InvariantCulture) : $"undefined: {m.Stored.Reason}"),
                m.NTokens.ToString(CultureInfo.InvariantCulture));
        }
        if (!Terminal.IsInteractive)
        {
            // Redirected output has no width; don't wrap site names at the 80-column default.
            table.Border(TableBorder.Ascii);
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        }
        AnsiConsole.Write(table);
    }
}
