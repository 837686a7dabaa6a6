using System.Buffers.Binary;
using Sweep.Analysis.Concepts;
using Sweep.Cli.Reports;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// <c>sweep report</c> on concept results stored in a real database: the planted-circle model captured at three sites,
/// its day means' PCA (one panel per layer, the days joined in week order), contrasts of each day against neutral and
/// the days' specialists, computed by the concept measures and written to the concept tables as the wired units will.
/// Set SWEEP_KEEP_REPORT to a folder to keep the report and its PNGs for a look.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ConceptReportTests(ServerFixture server)
{
    private static readonly string[] Sites = ["hook_embed", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post"];

    [Fact]
    public async Task The_report_draws_the_PCA_of_label_means_per_layer_and_tables_each_labels_contrasts_and_specialists()
    {
        using var circle = new PlantedCircle(perDay: 6);
        var corpus = circle.LoadCorpus();
        var blocks = circle.Capture(corpus, Sites);
        var labelIndex = PlantedCircle.Labels(corpus);
        var last = new ReductionOptions(Reduction.Last);
        var stats = blocks.ToDictionary(b => b.Key, b => b.Value.Select(x => LabelStatistics.FromBlock(x, labelIndex, last)).Aggregate((x, y) => x.Merge(y)));
        // A sample of every token after BOS at one layer, for the PCA of prompts and its UMAP.
        var sample = blocks[Sites[1]].Select(b => PromptSample.FromBlock(b, labelIndex, new ReductionOptions(Reduction.Every, PlantedCircleModel.Bos), 150, 0))
            .Aggregate((x, y) => x.Merge(y));

        var connection = await server.CreateDatabaseAsync();
        long run;
        await using (var database = await SweepDatabase.OpenAsync(connection))
        {
            run = await database.CreateRunAsync("planted-circle", PlantedCircleModel.JobYaml("circle", "prompts.jsonl"), "sha256:job", circle.Root);
            await database.UpsertUnitsAsync(run, Sites.SelectMany(s => new UnitRecord[] { new($"days/{s}", "analysis"), new($"contrast/{s}", "analysis") })
                .Append(new UnitRecord("tokens", "analysis")));
            var tokens = ConceptRows.Pca("tokens", "circle", Sites[1], ConceptPca.OfSample(sample, 5), cyclic: false);
            await database.ReplaceConceptResultsAsync(run, "tokens", new ConceptResults(PcaComponents: tokens.Components, PcaCoordinates: tokens.Coordinates));
            foreach (var site in Sites)
            {
                var pca = ConceptRows.Pca("days", "circle", site, ConceptPca.OfLabelMeans(stats[site], 3, PlantedCircleModel.Days), cyclic: true);
                var (labels, top) = ConceptRows.Contrast("day-contrast", "circle", site, Contrast.Finish(stats[site], new ContrastOptions("neutral", TopK: 5)));
                await database.ReplaceConceptResultsAsync(run, $"days/{site}", new ConceptResults(PcaComponents: pca.Components, PcaCoordinates: pca.Coordinates));
                await database.ReplaceConceptResultsAsync(run, $"contrast/{site}", new ConceptResults(
                    Means: ConceptRows.Means("day-contrast", "circle", site, Reduction.Last, ConceptMeans.Finish(stats[site])),
                    ContrastLabels: labels, Contrasts: top,
                    Selectivity: ConceptRows.Selectivity("day-contrast", "circle", site,
                        Selectivity.Finish(stats[site], new SelectivityOptions(SelectivityIndex.DPrime, TopK: 3, Exclude: ["neutral"])))));
            }
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
