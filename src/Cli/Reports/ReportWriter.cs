using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>Writes a run's report: <c>report.html</c> and one PNG per figure, side by side in one folder.</summary>
public static class ReportWriter
{
    public const string HtmlFileName = "report.html";

    /// <summary>The default folder: <c>{store_dir}/reports/run-{id}</c>.</summary>
    public static string DefaultDirectory(RunRecord run) => Path.Combine(run.StoreDir, "reports", $"run-{run.RunId}");

    /// <summary>Reads the run's results, draws the figures and writes the files; returns the path of <c>report.html</c>.</summary>
    public static async Task<string> WriteAsync(SweepDatabase database, RunRecord run, string directory, CancellationToken ct)
    {
        var content = await ReportContent.LoadAsync(database, run, ct);
        var figures = ReportFigure.Draw(content);
        var html = HtmlReport.Render(content, figures, DateTimeOffset.UtcNow);

        directory = Path.GetFullPath(directory);
        try
        {
            Directory.CreateDirectory(directory);
            foreach (var figure in figures) await File.WriteAllBytesAsync(Path.Combine(directory, figure.FileName), figure.Png, ct);
            await Features.FeaturePages.WriteAsync(database, content, directory, ct);
            var path = Path.Combine(directory, HtmlFileName);
            await File.WriteAllTextAsync(path, html, ct);
            return path;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot write the report to {directory}: {e.Message}", e);
        }
    }
}
