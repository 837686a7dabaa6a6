using System.Buffers.Binary;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Actors.Runs;
using Sweep.Cli.Reports;
using Sweep.Jobs.Spec;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary><c>sweep report</c> on a real run in PostgreSQL: one offline HTML page and PNG figures that show what the database holds.</summary>
[Collection(ServerCollection.Name)]
public sealed class ReportCommandTests(ServerFixture server)
{
    private const string Analyses = """
          - name: layer-cka
            kind: cka
          - name: sv
            kind: svcca
          - name: corr
            kind: correlation
            memory_mb: 1
        """;

    [Fact]
    public async Task A_report_is_one_offline_page_with_every_stored_value_and_a_valid_PNG_per_figure_and_is_reproducible()
    {
        using var workspace = new JobWorkspace(documents: 24);
        workspace.WriteJob(analyses: Analyses);
        var (connection, runId, outDir, html) = await RunAndReportAsync(workspace);

        // Self-contained: nothing fetched from anywhere, no scripts.
        Assert.DoesNotMatch(new Regex(@"(src|href)\s*=\s*[""']?\s*(https?:)?//", RegexOptions.IgnoreCase), html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("<pre>", html);

        // Every value the database holds for every measure appears in a table cell.
        var metrics = await QueryAsync(connection, $"SELECT measure, value FROM metrics WHERE run_id = {runId}", r => (Measure: r.GetString(0), Value: r.GetDouble(1)));
        Assert.Equal(["cka_linear", "correlation_mean_best_a_to_b", "correlation_mean_best_b_to_a", "correlation_mutual_pairs", "svcca"],
            metrics.Select(m => m.Measure).Distinct().Order());
        foreach (var (measure, value) in metrics)
            Assert.True(html.Contains($"<td>{value.ToString("G6", CultureInfo.InvariantCulture)}</td>"), $"{measure} = {value} is not in the report");

        // Feature matching: the strongest match and the dead-feature counts of each site pair.
        var strongest = await QueryAsync(connection,
            $"SELECT max(correlation) FROM feature_matches WHERE run_id = {runId} AND rank = 1 AND NOT dead GROUP BY model_a, site_a, model_b, site_b", r => r.GetDouble(0));
        Assert.Equal(6, strongest.Count);
        foreach (var r in strongest) Assert.Contains($"<td>{r.ToString("G6", CultureInfo.InvariantCulture)}</td>", html);
        Assert.Contains("<th>dead A</th>", html);

        // One PNG per figure, each the same image as the page embeds: cka, svcca and the 3 correlation measures,
        // each for tiny-a against itself and against tiny-b (tiny-b has one site: no pair within it).
        var pngs = Directory.GetFiles(outDir, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        string[] measures = ["corr-correlation_mean_best_a_to_b", "corr-correlation_mean_best_b_to_a", "corr-correlation_mutual_pairs", "layer-cka-cka_linear", "sv-svcca"];
        // Plus the summary's layer grid: cka and svcca compare tiny-a with tiny-b.
        Assert.Equal(measures.SelectMany(m => new[] { $"{m}-tiny-a-vs-tiny-a.png", $"{m}-tiny-a-vs-tiny-b.png" }).Append("summary-layer-grid.png").Order(StringComparer.Ordinal), pngs);
        foreach (var png in pngs)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(outDir, png!));
            AssertValidPng(png!, bytes);
            Assert.Contains($"data:image/png;base64,{Convert.ToBase64String(bytes)}\"", html);
        }

        // The same database gives the same files, apart from the generated-at line.
        var again = Path.Combine(workspace.Root, "again");
        Assert.Equal(0, (await SweepProcess.RunAsync(workspace.Root, "report", "--db", connection, "--out", again)).ExitCode);   // the newest run
        Assert.Equal(WithoutGeneratedAt(html), WithoutGeneratedAt(await File.ReadAllTextAsync(Path.Combine(again, "report.html"))));
        foreach (var png in pngs) Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(outDir, png!)), await File.ReadAllBytesAsync(Path.Combine(again, png!)));

        // A folder that cannot be made (a file is in the way) is one line and a non-zero exit.
        var blocked = Path.Combine(workspace.Root, "job.yaml", "report");
        var failed = await SweepProcess.RunAsync(workspace.Root, "report", $"{runId}", "--db", connection, "--out", blocked);
        Assert.Equal(1, failed.ExitCode);
        Assert.StartsWith($"sweep: cannot write the report to {blocked}", Assert.Single(failed.StderrLines));
    }

    [Fact]
    public async Task A_trained_SAE_gets_a_PNG_of_its_training_curves_beside_the_page_and_in_it()
    {
        using var workspace = new JobWorkspace(documents: 16);
        workspace.WriteJob(captures: "  - model: tiny-a\n    sites: [blocks.1.hook_resid_post, blocks.3.hook_resid_post]",
            saes: "train_sae:\n  - name: trained\n    model: tiny-a\n    site: blocks.3.hook_resid_post\n    expansion_factor: 2\n    k: 4\n"
                + "    steps: 12\n    batch_size: 32\n    warmup_steps: 1\n    dead_after_tokens: 96\n    metrics_every: 2");
        var (connection, runId, outDir, html) = await RunAndReportAsync(workspace);

        const string name = "training-trained-tiny-a-blocks.3.hook_resid_post_sae_trained.png";
        var bytes = await File.ReadAllBytesAsync(Path.Combine(outDir, name));
        AssertValidPng(name, bytes);
        Assert.Contains($"<img src=\"data:image/png;base64,{Convert.ToBase64String(bytes)}\" alt=\"training of trained: tiny-a blocks.3.hook_resid_post/sae/trained\">", html);
        Assert.Contains($"— {name}</figcaption>", html);
        Assert.Contains("<td>train_mse</td><td>tiny-a</td><td>blocks.3.hook_resid_post/sae/trained</td>", html);   // the last-step table stays
        Assert.Contains("last of 6 steps", html);

        var again = Path.Combine(workspace.Root, "again");   // the same database draws the same bytes
        Assert.Equal(0, (await SweepProcess.RunAsync(workspace.Root, "report", $"{runId}", "--db", connection, "--out", again)).ExitCode);
        Assert.Equal(bytes, await File.ReadAllBytesAsync(Path.Combine(again, name)));
    }

    [Fact]
    public async Task A_run_that_does_not_exist_is_one_line_and_a_non_zero_exit()
    {
        using var workspace = new JobWorkspace(documents: 2);
        var connection = await server.CreateDatabaseAsync();
        var result = await SweepProcess.RunAsync(workspace.Root, "report", "4242", "--db", connection);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("sweep: run 4242 does not exist", Assert.Single(result.StderrLines));
    }

    /// <summary>Runs the workspace's job in a fresh database, then <c>sweep report</c> on it into <c>{root}/report</c>.</summary>
    private async Task<(string Connection, long RunId, string OutDir, string Html)> RunAndReportAsync(JobWorkspace workspace)
    {
        var connection = await server.CreateDatabaseAsync();
        long runId;
        await using (var database = await SweepDatabase.OpenAsync(connection))
            runId = (await LocalRunner.RunAsync(JobLoader.Load(workspace.JobPath), database, NoProgress.Instance, CancellationToken.None)).RunId;

        var outDir = Path.Combine(workspace.Root, "report");
        var result = await SweepProcess.RunAsync(workspace.Root, "report", $"{runId}", "--db", connection, "--out", outDir);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var htmlPath = Path.Combine(outDir, "report.html");
        Assert.Contains(htmlPath, result.Stdout);
        return (connection, runId, outDir, await File.ReadAllTextAsync(htmlPath));
    }

    private static void AssertValidPng(string name, byte[] bytes)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.True(bytes.AsSpan(0, 8).SequenceEqual(signature), $"{name} is not a PNG");
        Assert.True(bytes.Length > 5_000, $"{name} is only {bytes.Length} bytes");
        Assert.Equal("IHDR", System.Text.Encoding.ASCII.GetString(bytes, 12, 4));
        int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16)), height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20));
        Assert.InRange(width, 300, 4000);
        Assert.InRange(height, 300, 4000);
    }

    private static string WithoutGeneratedAt(string html) =>
        string.Join("\n", html.Split('\n').Where(line => !line.StartsWith(HtmlReport.GeneratedAtPrefix, StringComparison.Ordinal)));

    private static async Task<List<T>> QueryAsync<T>(string connection, string sql, Func<NpgsqlDataReader, T> read)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(sql, db);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync()) rows.Add(read(reader));
        return rows;
    }
}
