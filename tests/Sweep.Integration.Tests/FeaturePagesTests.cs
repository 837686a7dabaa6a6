using System.Globalization;
using System.Text.Json;
using Npgsql;
using Sweep.Analysis.Features;
using Sweep.Cli.Reports.Features;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>
/// What a person sees of the features analysis, from rows in a real database: the report's feature pages opened from
/// disk in headless Chromium (searched, a card opened, the highlighted top context found in the DOM, screenshots),
/// <c>sweep features</c> in the terminal, and <c>sweep export</c> read back by an independent Parquet reader.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class FeaturePagesTests(ServerFixture server, Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-features-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task The_feature_page_opened_from_disk_finds_a_searched_feature_and_highlights_its_top_contexts()
    {
        var run = await PlantedFeatureRun.CreateAsync(await server.CreateDatabaseAsync(), _root);
        var outDir = Path.Combine(_root, "report");
        var report = await SweepProcess.RunAsync(_root, "report", $"{run.RunId}", "--db", run.Connection, "--out", outDir);
        Assert.True(report.ExitCode == 0, report.Stderr);

        var html = await File.ReadAllTextAsync(Path.Combine(outDir, "report.html"));
        var page = $"features-{FeaturePages.Slug(PlantedFeatureRun.Analysis, PlantedFeatureRun.Model, PlantedFeatureRun.SiteA)}.html";
        Assert.Contains($"<a href=\"{page}\">", html);
        var pairPage = Directory.GetFiles(outDir, "pairs-*.html").Single();
        Assert.Contains($"<a href=\"{Path.GetFileName(pairPage)}\">", html);
        // Cards live in per-chunk data files beside the page, not in it.
        Assert.Equal((run.Width + FeaturePages.CardsPerFile - 1) / FeaturePages.CardsPerFile,
            Directory.GetFiles(Path.Combine(outDir, "features", FeaturePages.Slug(PlantedFeatureRun.Analysis, PlantedFeatureRun.Model, PlantedFeatureRun.SiteA)), "cards-*.js").Length);
        Assert.DoesNotContain("http", await File.ReadAllTextAsync(Path.Combine(outDir, page)));

        var shots = Environment.GetEnvironmentVariable("SWEEP_SCREENSHOTS") ?? Path.Combine(_root, "shots");
        Directory.CreateDirectory(shots);
        var seen = await ResultsJs.RunAsync("check-feature-page.mjs", Path.Combine(outDir, page), $"{PlantedFeatureRun.PlantedA}", shots, pairPage);

        Assert.Empty(seen.GetProperty("errors").EnumerateArray());
        Assert.Equal(100, seen.GetProperty("rows").GetInt32());   // the first page of the index
        var card = seen.GetProperty("card");
        Assert.StartsWith($"Feature {PlantedFeatureRun.PlantedA}", card.GetProperty("heading").GetString());
        Assert.Equal($"https://www.neuronpedia.org/{PlantedFeatureRun.NeuronpediaA}/{PlantedFeatureRun.PlantedA}", card.GetProperty("neuronpedia").GetString());
        var top = card.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(run.TopA.Count, top.Count);
        for (int i = 0; i < top.Count; i++)
        {
            var expected = run.TopA[i];
            Assert.Equal(" cat", top[i].GetProperty("text").GetString());   // the firing token, decoded readably
            Assert.Equal(expected.Activation, top[i].GetProperty("activation").GetSingle());
            Assert.Equal(expected.WindowActivations.Count(v => v > 0), top[i].GetProperty("firing").GetInt32());
            Assert.Equal(string.Concat(run.Texts.Of(expected.WindowTokens)), top[i].GetProperty("window").GetString());
            Assert.Matches(@"^rgba?\(255, 128, 0(, 0\.[2-9]\d*)?\)$", top[i].GetProperty("background").GetString());   // strongest: opaque
        }
        Assert.True(card.GetProperty("samples").GetInt32() > 0);
        Assert.True(card.GetProperty("histogramBars").GetInt32() > 0);
        Assert.Equal(4, card.GetProperty("logits").GetArrayLength() / 2);
        var partners = card.GetProperty("partners").EnumerateArray().Select(p => int.Parse(p.GetString()!, CultureInfo.InvariantCulture)).ToList();
        Assert.Contains(PlantedFeatureRun.PlantedA + 1, partners);   // the planted partner fires with it
        Assert.Equal(partners[0], seen.GetProperty("partner").GetInt32());
        Assert.Equal(PlantedFeatureRun.PlantedA, seen.GetProperty("sorted")[0].GetInt32());   // the strongest feature sorts first by max

        var pair = seen.GetProperty("pair").EnumerateArray().ToList();
        Assert.Equal([PlantedFeatureRun.PlantedA, PlantedFeatureRun.PlantedB], pair.Select(p => p.GetProperty("feature").GetInt32()));
        Assert.All(pair, p => Assert.Equal(" cat", p.GetProperty("hot").GetString()));
        foreach (var shot in new[] { "index.png", "card.png", "pair.png" }) Assert.True(new FileInfo(Path.Combine(shots, shot)).Length > 10_000, shot);

        // The same database gives the same files.
        var again = Path.Combine(_root, "again");
        Assert.Equal(0, (await SweepProcess.RunAsync(_root, "report", $"{run.RunId}", "--db", run.Connection, "--out", again)).ExitCode);
        foreach (var file in Directory.GetFiles(outDir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith("report.html")))
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(again, Path.GetRelativePath(outDir, file))));
    }

    [Fact]
    public async Task A_16k_feature_SAEs_page_stays_usable_its_cards_load_from_data_files_on_demand()
    {
        const int width = 16384;
        var run = await PlantedFeatureRun.CreateAsync(await server.CreateDatabaseAsync(), _root, width: width, documents: 400, coActivation: false, log: output.WriteLine);
        var outDir = Path.Combine(_root, "report");
        var timer = System.Diagnostics.Stopwatch.StartNew();
        var report = await SweepProcess.RunAsync(_root, "report", $"{run.RunId}", "--db", run.Connection, "--out", outDir);
        Assert.True(report.ExitCode == 0, report.Stderr);
        output.WriteLine($"sweep report of a {width}-feature SAE (two sites): {timer.Elapsed.TotalSeconds:F1} s");
        var slug = FeaturePages.Slug(PlantedFeatureRun.Analysis, PlantedFeatureRun.Model, PlantedFeatureRun.SiteA);
        var page = Path.Combine(outDir, $"features-{slug}.html");
        Assert.True(new FileInfo(page).Length < 10_000, "the page itself holds no feature data");
        Assert.Equal(width / FeaturePages.CardsPerFile, Directory.GetFiles(Path.Combine(outDir, "features", slug), "cards-*.js").Length);

        var shots = Path.Combine(Environment.GetEnvironmentVariable("SWEEP_SCREENSHOTS") ?? Path.Combine(_root, "shots"), "16k");
        Directory.CreateDirectory(shots);
        var seen = await ResultsJs.RunAsync("check-feature-page.mjs", page, $"{PlantedFeatureRun.PlantedA}", shots);
        Assert.Empty(seen.GetProperty("errors").EnumerateArray());
        Assert.Equal(100, seen.GetProperty("rows").GetInt32());
        Assert.All(seen.GetProperty("card").GetProperty("top").EnumerateArray(), t => Assert.Equal(" cat", t.GetProperty("text").GetString()));
        Assert.Equal(PlantedFeatureRun.PlantedA, seen.GetProperty("sorted")[0].GetInt32());
        // Measured, not asserted (speed goals are not timed tests): docs/reports.md records the figure.
        output.WriteLine($"feature page of {width} features: index drawn {seen.GetProperty("load").GetInt32()} ms after navigation");
    }

    [Fact]
    public async Task Sweep_features_prints_a_features_card_with_its_firing_token_marked()
    {
        var run = await PlantedFeatureRun.CreateAsync(await server.CreateDatabaseAsync(), _root, width: 40, documents: 40);
        var result = await SweepProcess.RunAsync(_root, "features", $"{run.RunId}", "--db", run.Connection, "--sae", PlantedFeatureRun.SaeA, "--feature", $"{PlantedFeatureRun.PlantedA}");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.Split('\n');
        Assert.StartsWith($"feature {PlantedFeatureRun.PlantedA} of SAE {PlantedFeatureRun.SaeA} ({PlantedFeatureRun.Model} {PlantedFeatureRun.SiteA})", lines[0]);
        Assert.Contains($"neuronpedia: https://www.neuronpedia.org/{PlantedFeatureRun.NeuronpediaA}/{PlantedFeatureRun.PlantedA}", result.Stdout);
        var first = run.TopA[0];
        Assert.Contains($"seq {first.Seq} pos {first.Pos}  ", result.Stdout);
        var topLines = lines.SkipWhile(l => l != "top activations:").Skip(1).TakeWhile(l => l.StartsWith("  ")).ToList();
        Assert.Equal(run.TopA.Count, topLines.Count);
        Assert.All(topLines, l => Assert.Contains("[[ cat]]", l));
        Assert.Contains("co-active by correlation: ", result.Stdout);

        var missing = await SweepProcess.RunAsync(_root, "features", $"{run.RunId}", "--db", run.Connection, "--sae", "nope", "--feature", "1");
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith($"sweep: no feature statistics for SAE nope in run {run.RunId}; it has: {PlantedFeatureRun.SaeA} (", Assert.Single(missing.StderrLines));
        var outside = await SweepProcess.RunAsync(_root, "features", $"{run.RunId}", "--db", run.Connection, "--sae", PlantedFeatureRun.SaeA, "--feature", "40");
        Assert.Equal("sweep: --feature 40 is outside 0..39 (tiny blocks.1.hook_resid_post/sae/res has 40 features)", Assert.Single(outside.StderrLines));
    }

    [Fact]
    public async Task Sweep_export_writes_every_result_table_as_Parquet_that_an_independent_reader_reads_back_as_the_database_holds_it()
    {
        var run = await PlantedFeatureRun.CreateAsync(await server.CreateDatabaseAsync(), _root, width: 40, documents: 40);
        var outDir = Path.Combine(_root, "export");
        var result = await SweepProcess.RunAsync(_root, "export", $"{run.RunId}", "--db", run.Connection, "--format", "parquet", "--out", outDir);
        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(ResultTable.All.Select(t => t.Name + ".parquet").Order(), Directory.GetFiles(outDir).Select(Path.GetFileName).Order());

        foreach (var table in ResultTable.All)
        {
            var file = await ResultsJs.RunAsync("read-parquet.mjs", Path.Combine(outDir, table.Name + ".parquet"));
            var (columns, rows) = await DatabaseRowsAsync(run.Connection, table, run.RunId);
            Assert.Equal(columns, file.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
            var read = file.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(rows.Count, read.Count);
            if (table.Name != "runs" && !ResultTable.ConceptTables.Contains(table.Name)) Assert.True(rows.Count > 0, $"{table.Name} has no rows to compare");
            for (int r = 0; r < rows.Count; r++)
                for (int c = 0; c < columns.Count; c++)
                    AssertSame(rows[r][c], read[r][c], $"{table.Name} row {r} column {columns[c]}");
        }

        var csv = await SweepProcess.RunAsync(_root, "export", $"{run.RunId}", "--db", run.Connection, "--format", "csv", "--out", Path.Combine(_root, "csv"));
        Assert.True(csv.ExitCode == 0, csv.Stderr);
        var stats = await File.ReadAllLinesAsync(Path.Combine(_root, "csv", "feature_stats.csv"));
        Assert.StartsWith("run_id,unit_key,analysis,model,site,feature,", stats[0]);
        Assert.Equal(2 * 40 + 1, stats.Length);
        Assert.Contains(",\"[", stats[1]);   // arrays as JSON arrays
    }

    /// <summary>A value from Npgsql against hyparquet's JSON: integers and texts exactly, floats to their own precision, arrays element-wise, NULL as null.</summary>
    internal static void AssertSame(object? expected, JsonElement actual, string where)
    {
        switch (expected)
        {
            case null: Assert.True(actual.ValueKind == JsonValueKind.Null, $"{where}: expected NULL, read {actual}"); break;
            case Array array:
                var items = actual.EnumerateArray().ToList();
                Assert.True(array.Length == items.Count, $"{where}: {array.Length} elements, read {items.Count}");
                for (int i = 0; i < items.Count; i++) AssertSame(array.GetValue(i), items[i], $"{where}[{i}]");
                break;
            case long or int or short:
                var integer = actual.ValueKind == JsonValueKind.String ? long.Parse(actual.GetString()!, CultureInfo.InvariantCulture) : actual.GetInt64();
                Assert.True(Convert.ToInt64(expected, CultureInfo.InvariantCulture) == integer, $"{where}: {expected} vs {actual}");
                break;
            case double d: Assert.True(d == actual.GetDouble(), $"{where}: {d:R} vs {actual}"); break;
            case float f: Assert.True(f == (float)actual.GetDouble(), $"{where}: {f:R} vs {actual}"); break;
            case bool b: Assert.True(b == actual.GetBoolean(), $"{where}: {b} vs {actual}"); break;
            case DateTime t:
                Assert.True(Math.Abs((t.ToUniversalTime() - DateTime.Parse(actual.GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)).TotalMilliseconds) < 1, $"{where}: {t:O} vs {actual}");
                break;
            default: Assert.True(expected.ToString() == actual.GetString(), $"{where}: '{expected}' vs '{actual}'"); break;
        }
    }

    internal static async Task<(List<string> Columns, List<object?[]> Rows)> DatabaseRowsAsync(string connection, ResultTable table, long runId)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(table.Query, db);
        command.Parameters.AddWithValue("run_id", runId);
        await using var reader = await command.ExecuteReaderAsync();
        var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
            rows.Add(Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i)).ToArray());
        return (columns, rows);
    }
}
