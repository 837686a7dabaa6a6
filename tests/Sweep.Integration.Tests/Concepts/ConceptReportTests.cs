using System.Buffers.Binary;
using Sweep.Actors.Runs;
using Sweep.Analysis.Concepts;
using Sweep.Cli.Reports;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// The day-of-week job on the planted-circle model, run for real (capture, map/merge/finalize units, result files, the
/// units' commits), then <c>sweep report</c> on it: the PCA of the seven day means at <c>hook_embed</c> with the
/// last-token reduction finds the planted circle in week order (one panel per layer, the days joined in week order),
/// each day's contrast against neutral and the days' specialists are tabled, a sample of every token gets a PCA and a
/// UMAP. Set SWEEP_KEEP_REPORT to a folder to keep the report and its PNGs for a look.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ConceptReportTests(ServerFixture server)
{
    private const double StepTolerance = 0.15;   // radians around 2π/7 ≈ 0.898 for noise 0.02 on radius 1

    [Fact]
    public async Task The_day_of_week_job_finds_the_planted_circle_and_the_report_draws_it_per_layer_with_contrasts_and_specialists()
    {
        using var circle = new PlantedCircle(perDay: 6);
        var jobPath = Path.Combine(circle.Root, "days.yaml");
        File.WriteAllText(jobPath, PlantedCircleModel.JobYaml("circle", "prompts.jsonl"));
        var connection = await server.CreateDatabaseAsync();
        long run;
        await using (var database = await SweepDatabase.OpenAsync(connection))
        {
            var report = await LocalRunner.RunAsync(JobLoader.Load(jobPath), database, NoProgress.Instance, CancellationToken.None);
            run = report.RunId;

            // The PCA of the day means at hook_embed: the planted circle, in week order, as the exact embedding rows give it.
            var components = (await database.GetPcaComponentsAsync(run)).Where(c => c.Analysis == "days" && c.Site == "hook_embed").ToList();
            var exact = Pca.Fit(circle.DayEmbeddingRows(), 3);
            Assert.Equal(exact.ExplainedVarianceRatio, components.Select(c => c.ExplainedVarianceRatio), (a, b) => Math.Abs(a - b) <= 1e-6 * a);
            Assert.True(components.Take(2).Sum(c => c.ExplainedVarianceRatio) >= 0.9, $"the first two components explain {components.Take(2).Sum(c => c.ExplainedVarianceRatio):F3}");
            var points = (await database.GetPcaLabelPointsAsync(run, 2)).Where(p => p.Analysis == "days" && p.Site == "hook_embed").ToList();
            Assert.Equal(PlantedCircleModel.Days, points.Where(p => p.Component == 1).Select(p => p.Label));
            var xy = points.GroupBy(p => p.LabelOrder).OrderBy(g => g.Key).Select(g => (g.Single(p => p.Component == 1).Value, g.Single(p => p.Component == 2).Value)).ToList();
            Assert.True(PlantedCircle.InCyclicOrder(xy, out var steps), $"angle steps {string.Join(", ", steps.Select(s => s.ToString("F3")))}");
            Assert.All(steps, s => Assert.InRange(Math.Abs(s), 2 * Math.PI / 7 - StepTolerance, 2 * Math.PI / 7 + StepTolerance));
            var top2 = report.Metrics.Single(m => m.Metric.Analysis == "days" && m.Metric.SiteA == "hook_embed" && m.Metric.Measure == "pca_top2_variance_ratio");
            Assert.Equal(components.Take(2).Sum(c => c.ExplainedVarianceRatio), top2.Metric.Value!.Value, 12);
            Assert.Null(top2.Metric.ModelB);

            // The corpus's labels are in the database, one row per sequence.
            Assert.Equal(8 * 6, (await database.GetCorpusLabelsAsync(run)).Count);
        }

        var outDir = Path.Combine(circle.Root, "report");
        var result = await SweepProcess.RunAsync(circle.Root, "report", $"{run}", "--db", connection, "--out", outDir);
        Assert.True(result.ExitCode == 0, result.Stderr);
        var html = await File.ReadAllTextAsync(Path.Combine(outDir, ReportWriter.HtmlFileName));
        if (Environment.GetEnvironmentVariable("SWEEP_KEEP_REPORT") is { Length: > 0 } keep)
            foreach (var file in Directory.GetFiles(outDir)) File.Copy(file, Path.Combine(Directory.CreateDirectory(keep).FullName, Path.GetFileName(file)), overwrite: true);

        // One figure for the pca of day means: a panel per site, embedded in the page and written beside it; the sampled
        // tokens' analysis draws its label centroids and a UMAP of its 150 items.
        var png = await File.ReadAllBytesAsync(Path.Combine(outDir, "days-pca-circle.png"));
        Assert.Equal(["days-pca-circle.png", "tokens-pca-circle.png", "tokens-umap-circle.png"], Directory.GetFiles(outDir, "*.png").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Contains($"data:image/png;base64,{Convert.ToBase64String(await File.ReadAllBytesAsync(Path.Combine(outDir, "tokens-umap-circle.png")))}\"", html);
        Assert.True(png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }));
        Assert.Equal((3 * 440, 440 + 44), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        Assert.Contains($"data:image/png;base64,{Convert.ToBase64String(png)}\"", html);
        Assert.Contains("<h2>days</h2>", html);

        // The PCA table holds each site's shares of variance; at hook_embed the first two explain the circle.
        await using (var database = await SweepDatabase.OpenAsync(connection))
        {
            var components = await database.GetPcaComponentsAsync(run);
            Assert.Equal(9 + 5, components.Count);
            Assert.True(components.Where(c => c.Site == "hook_embed" && c.Component <= 2).Sum(c => c.ExplainedVarianceRatio) >= 0.9);
            foreach (var c in components) Assert.Contains($"<td>{ReportFormat.Number(c.ExplainedVarianceRatio)}</td>", html);

            // Each day's contrast: a summary row and its top features with d, t, p and q.
            // At hook_embed every prompt of a label ends in the same token, so both groups are constant: no feature has a
            // defined t or d, the summary says so, and no top features are listed; after a block the context varies.
            var contrasts = await database.GetContrastsAsync(run, ConceptContent.TopRows);
            Assert.Equal(2 * 7 * 5, contrasts.Count);
            Assert.All((await database.GetContrastLabelsAsync(run)).Where(l => l.Site == "hook_embed"), l => Assert.Equal(0, l.Tested));
            foreach (var day in PlantedCircleModel.Days)
                Assert.Contains($"<caption>Top features of {day} against neutral: circle blocks.0.hook_resid_post</caption>", html);
            var strongest = contrasts.MaxBy(c => c.CohensD!.Value)!;
            Assert.Contains($"<td>{ReportFormat.Number(strongest.CohensD!.Value)}</td>", html);
            Assert.Contains($"<td>{ReportFormat.Number(strongest.Q!.Value)}</td>", html);
            Assert.Contains("<th>q &lt; 0.05</th>", html);

            // Specialists per day, with the d' index named.
            Assert.Contains("<th>selectivity (dprime)</th>", html);
            var specialists = await database.GetSelectivityAsync(run, ConceptContent.TopRows);
            Assert.NotEmpty(specialists);
            foreach (var s in specialists) Assert.Contains($"<caption>Specialists of {s.PreferredLabel}: circle {s.Site}</caption>", html);
        }
        // Items per label: six prompts of each day and of neutral, reduced to their last token.
        foreach (var label in PlantedCircleModel.Days.Append("neutral"))
            Assert.Contains($"<tr><td>circle</td><td>hook_embed</td><td>{label}</td><td>6</td><td>last</td>", html);
    }
}
