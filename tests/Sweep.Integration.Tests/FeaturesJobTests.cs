using Sweep.Actors.Runs;
using Sweep.Analysis.Features;
using Sweep.Analysis.Matching;
using Sweep.Jobs.Spec;
using Sweep.Models.Checkpoints;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests;

/// <summary>
/// The <c>features</c> analysis as a job runs it (<see cref="PlantedFeatureJob"/>: two SAE code sites with a planted
/// " cat" feature, three dense sites): the stored rows equal a brute-force recount from the run's shard files — one
/// unit per site, and split into a map unit per shard with units retried as a lost worker's would be — co-activation
/// and logit effects equal numpy, and the planted feature's top contexts are " cat" tokens with exactly the " cat"
/// tokens of their windows highlighted.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class FeaturesJobTests(ServerFixture server, Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed record Settings(int TopK, int Before, int After, int Samples, int Seed, int Partners, int LogitTokens);

    private static readonly Settings Feats = new(5, 6, 3, 2, 1, 4, 4);
    private static readonly Settings Units = new(3, 4, 2, 3, 0, 0, 0);

    [Fact]
    public async Task Feature_rows_equal_a_recount_from_the_shards_in_one_unit_per_site_and_split_per_shard_with_retried_units()
    {
        using var job = new PlantedFeatureJob();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await using var whole = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var wholeRun = (await LocalRunner.RunAsync(job.Job("store-whole"), whole, NoProgress.Instance, CancellationToken.None)).RunId;
        output.WriteLine($"one unit per site: {clock.Elapsed.TotalSeconds:F1} s");
        var units = await whole.GetUnitsAsync(wholeRun);
        Assert.DoesNotContain(units, u => u.Description.Contains(" map ", StringComparison.Ordinal));

        clock.Restart();
        await using var split = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var (splitRun, retried) = await RunByHandWithRetriesAsync(job.Job("store-split", shardsPerUnit: 1), split);
        output.WriteLine($"a map unit per shard, by hand with retries: {clock.Elapsed.TotalSeconds:F1} s");
        Assert.Equal(RunStatus.Succeeded, (await split.GetRunAsync(splitRun))!.Status);
        // The retried map unit whose partial verified reused it; the one whose partial was damaged folded again.
        Assert.Equal([true, false], retried.Where(r => r.Description.Contains(" map ", StringComparison.Ordinal)).Select(r => r.Reused));
        Assert.All((await split.GetCommitCountsAsync(splitRun)).Values, commits => Assert.Equal(1, commits));

        var texts = new TokenTexts(job.Tokenizer);
        foreach (var (database, run) in new[] { (whole, wholeRun), (split, splitRun) })
        {
            var sites = await database.GetFeatureSitesAsync(run);
            Assert.Equal(["tiny-a " + PlantedFeatureJob.Hook, "tiny-a " + PlantedFeatureJob.SiteA, "tiny-a " + PlantedFeatureJob.DenseSite,
                "tiny-b " + PlantedFeatureJob.Hook, "tiny-b " + PlantedFeatureJob.SiteB], sites.Select(s => $"{s.Model} {s.Site}").Order(StringComparer.Ordinal));
            var shards = await database.GetShardsAsync(run);
            foreach (var site in sites)
            {
                bool sae = site.Sae is not null;
                var rows = ReadSite(shards, site.Model, site.Site, sae);
                Assert.Equal((rows.Rows, rows.Width), ((int)site.NTokens, site.Width));
                await AssertStatisticsAndExamplesAsync(database, run, site, rows, sae ? Feats : Units, texts);
                if (!sae)
                {
                    Assert.Null(site.NeuronpediaId);
                    Assert.Empty(await database.GetFeatureCoactivationsAsync(run, site));
                    continue;
                }
                Assert.Equal(site.Sae == "sae-a" ? PlantedFeatureJob.NeuronpediaA : PlantedFeatureJob.NeuronpediaB, site.NeuronpediaId);
                await AssertCoActivationEqualsNumpyAsync(database, run, site, rows);
                await AssertLogitEffectsEqualNumpyAsync(database, run, site, job, texts);
                await AssertPlantedFeatureAsync(database, run, site, rows, job, site.Sae == "sae-a" ? PlantedFeatureJob.PlantedA : PlantedFeatureJob.PlantedB);
            }
            // One row per feature: a retried unit left one set of rows.
            foreach (var site in sites) Assert.Equal(site.Width, (await database.GetFeatureStatsAsync(run, site)).Count);
            var metrics = (await database.GetMetricsAsync(run)).Select(m => m.Metric).Where(m => m.Analysis is "feats" or "units").ToList();
            Assert.Equal(2 * sites.Count, metrics.Count);
            Assert.All(metrics, m => Assert.Null(m.ModelB));
        }

        // Both plans store the same rows (sums up to float64 rounding).
        foreach (var site in await whole.GetFeatureSitesAsync(wholeRun))
        {
            var a = await whole.GetFeatureCardAsync(wholeRun, site, 0);
            var splitSite = (await split.GetFeatureSitesAsync(splitRun)).Single(s => (s.Model, s.Site, s.Analysis) == (site.Model, site.Site, site.Analysis));
            var exA = await whole.GetTopExamplesAsync(wholeRun, site);
            var exB = await split.GetTopExamplesAsync(splitRun, splitSite);
            Assert.Equal(exA.Select(e => (e.Feature, e.Kind, e.Stratum, e.Rank, e.Seq, e.Pos, e.Activation)), exB.Select(e => (e.Feature, e.Kind, e.Stratum, e.Rank, e.Seq, e.Pos, e.Activation)));
            var pA = await whole.GetFeatureCoactivationsAsync(wholeRun, site);
            var pB = await split.GetFeatureCoactivationsAsync(splitRun, splitSite);
            Assert.Equal(pA.Select(p => (p.Feature, p.Measure, p.Rank, p.Partner, p.CoFirings)), pB.Select(p => (p.Feature, p.Measure, p.Rank, p.Partner, p.CoFirings)));
            Assert.Equal(site.ParamsJson, splitSite.ParamsJson);
            Assert.NotNull(a.Stat);
        }
    }

    [Fact]
    public async Task The_report_of_a_features_job_opened_in_Chromium_finds_a_searched_feature_and_highlights_its_planted_token()
    {
        using var job = new PlantedFeatureJob();
        var connection = await server.CreateDatabaseAsync();
        await using var database = await SweepDatabase.OpenAsync(connection);
        long run = (await LocalRunner.RunAsync(job.Job("store"), database, NoProgress.Instance, CancellationToken.None)).RunId;
        var outDir = Path.Combine(job.Root, "report");
        var report = await SweepProcess.RunAsync(job.Root, "report", $"{run}", "--db", connection, "--out", outDir);
        Assert.True(report.ExitCode == 0, report.Stderr);

        var site = (await database.GetFeatureSitesAsync(run)).Single(s => s.Sae == "sae-a");
        var page = Path.Combine(outDir, Sweep.Cli.Reports.Features.FeaturePages.PageName(site));
        var pairPage = Directory.GetFiles(outDir, "pairs-*.html").Single();
        Assert.Contains($"<a href=\"{Path.GetFileName(page)}\">", await File.ReadAllTextAsync(Path.Combine(outDir, "report.html")));
        var shots = Path.Combine(Environment.GetEnvironmentVariable("SWEEP_SCREENSHOTS") ?? Path.Combine(job.Root, "shots"), "job");
        Directory.CreateDirectory(shots);
        var seen = await ResultsJs.RunAsync("check-feature-page.mjs", page, $"{PlantedFeatureJob.PlantedA}", shots, pairPage);
        output.WriteLine($"feature page of {site.Width} features: index drawn {seen.GetProperty("load").GetInt32()} ms after navigation");

        Assert.Empty(seen.GetProperty("errors").EnumerateArray());
        Assert.Equal(PlantedFeatureJob.WidthA, seen.GetProperty("rows").GetInt32());
        var card = seen.GetProperty("card");
        Assert.StartsWith($"Feature {PlantedFeatureJob.PlantedA}", card.GetProperty("heading").GetString());
        Assert.Equal($"https://www.neuronpedia.org/{PlantedFeatureJob.NeuronpediaA}/{PlantedFeatureJob.PlantedA}", card.GetProperty("neuronpedia").GetString());
        // The top contexts the job stored, as the page shows them: the firing token " cat" outlined, and as many tokens
        // shaded as fire in the window (every " cat" of it, nothing else).
        var stored = (await database.GetFeatureCardAsync(run, site, PlantedFeatureJob.PlantedA)).Examples.Where(e => e.Kind == "top").ToList();
        var top = card.GetProperty("top").EnumerateArray().ToList();
        Assert.Equal(Feats.TopK, top.Count);
        for (int i = 0; i < top.Count; i++)
        {
            Assert.Equal(" cat", top[i].GetProperty("text").GetString());
            Assert.Equal(stored[i].Activation, top[i].GetProperty("activation").GetSingle());
            Assert.Equal(stored[i].WindowTokens.Count(t => t == job.Cat), top[i].GetProperty("firing").GetInt32());
            Assert.Equal(string.Concat(stored[i].WindowTexts), top[i].GetProperty("window").GetString());
        }
        Assert.True(card.GetProperty("samples").GetInt32() > 0);
        Assert.True(card.GetProperty("histogramBars").GetInt32() > 0);
        Assert.Equal(2 * Feats.LogitTokens, card.GetProperty("logits").GetArrayLength());
        Assert.NotEmpty(card.GetProperty("partners").EnumerateArray());
        var strongest = (await database.GetFeatureStatsAsync(run, site)).OrderByDescending(s => s.MaxActivation).ThenBy(s => s.Feature).First().Feature;
        Assert.Equal(strongest, seen.GetProperty("sorted")[0].GetInt32());
        // The matched pair of the two planted features (r = 1) comes first, its two cards side by side.
        var pair = seen.GetProperty("pair").EnumerateArray().ToList();
        Assert.Equal([PlantedFeatureJob.PlantedA, PlantedFeatureJob.PlantedB], pair.Select(p => p.GetProperty("feature").GetInt32()));
        Assert.All(pair, p => Assert.Equal(" cat", p.GetProperty("hot").GetString()));
        foreach (var shot in new[] { "index.png", "card.png", "pair.png" }) Assert.True(new FileInfo(Path.Combine(shots, shot)).Length > 10_000, shot);
    }

    /// <summary>A site's rows over the whole corpus, from its shard files in corpus order; SAE codes densified.</summary>
    private sealed record SiteRows(int Width, int Rows, int[] Seq, int[] Pos, int[] Token, float[] Values)
    {
        public float Value(int row, int feature) => Values[(long)row * Width + feature];
        public long Item(int row) => Activation.ItemOf(Seq[row], Pos[row]);
    }

    private static SiteRows ReadSite(IReadOnlyList<ShardRow> shards, string model, string site, bool sparse)
    {
        var files = shards.Where(s => s.Model == model && s.Site == site).OrderBy(s => s.ShardIndex).ToList();
        Assert.True(files.Count > 4, $"{model} {site}: the corpus should span several shards");
        var (seq, pos, token, values) = (new List<int>(), new List<int>(), new List<int>(), new List<float>());
        int width = 0;
        foreach (var file in files)
        {
            if (sparse)
            {
                var s = SparseShardFile.Read(file.Uri);
                width = s.Metadata.Width;
                seq.AddRange(s.Seq); pos.AddRange(s.Pos); token.AddRange(s.Token);
                var dense = new float[(long)s.Rows * width];
                for (int r = 0; r < s.Rows; r++)
                    for (int i = s.Offsets[r]; i < s.Offsets[r + 1]; i++) dense[(long)r * width + s.Indices[i]] = s.Values[i];
                values.AddRange(dense);
            }
            else
            {
                var d = DenseShardFile.Read(file.Uri);
                width = d.Metadata.Width;
                seq.AddRange(d.Seq); pos.AddRange(d.Pos); token.AddRange(d.Token); values.AddRange(d.Act);
            }
        }
        return new SiteRows(width, seq.Count, seq.ToArray(), pos.ToArray(), token.ToArray(), values.ToArray());
    }

    /// <summary>The documented log bins, computed independently: bin b ≥ 1 is [10^(-6+(b-1)/10), 10^(-6+b/10)).</summary>
    private static int Bin(double v) =>
        v < 1e-6 ? 0 : v >= 1e4 ? 101 : Enumerable.Range(1, 100).Single(b => v >= Math.Pow(10, -6 + (b - 1) / 10.0) && v < Math.Pow(10, -6 + b / 10.0));

    private static async Task AssertStatisticsAndExamplesAsync(SweepDatabase database, long run, FeatureSiteRow site, SiteRows rows, Settings p, TokenTexts texts)
    {
        var stats = await database.GetFeatureStatsAsync(run, site);
        var examples = (await database.GetTopExamplesAsync(run, site)).ToLookup(e => e.Feature);
        string where = $"{site.Model} {site.Site}";
        for (int f = 0; f < rows.Width; f++)
        {
            var values = Enumerable.Range(0, rows.Rows).Select(r => (double)rows.Value(r, f)).ToList();
            var firing = Enumerable.Range(0, rows.Rows).Where(r => rows.Value(r, f) > 0).ToList();
            var stat = stats[f];
            Assert.Equal((f, rows.Rows, (long)firing.Count), (stat.Feature, (int)stat.NTokens, stat.Fired));
            Assert.Equal((double)firing.Count / rows.Rows, stat.Frequency, 1e-15);
            Assert.Equal(values.Average(), stat.MeanActivation, 1e-9);
            Assert.Equal(values.Max(), stat.MaxActivation);
            if (firing.Count == 0) Assert.Null(stat.MeanWhenActive);
            else Assert.Equal(firing.Average(r => (double)rows.Value(r, f)), stat.MeanWhenActive!.Value, 1e-9);
            var bins = firing.GroupBy(r => Bin(rows.Value(r, f))).OrderBy(g => g.Key).ToList();
            Assert.Equal(bins.Select(b => (short)b.Key), stat.HistogramBins);
            Assert.Equal(bins.Select(b => (long)b.Count()), stat.HistogramCounts);

            // Top contexts: every firing sorted by activation, ties to the earlier token; windows within the sequence.
            var top = firing.OrderByDescending(r => rows.Value(r, f)).ThenBy(rows.Item).Take(p.TopK).ToList();
            var storedTop = examples[f].Where(e => e.Kind == "top").ToList();
            Assert.True(top.Count == storedTop.Count, $"{where} feature {f}: {storedTop.Count} top contexts stored, {top.Count} expected");
            for (int i = 0; i < top.Count; i++) AssertExample(storedTop[i], top[i], i + 1, null, rows, f, p, texts);

            // Samples: per activation stratum, the bottom-k firings by the seeded hash of (seed, feature, token).
            var samples = firing.GroupBy(r => IntervalSamples.StratumOf(Bin(rows.Value(r, f)))).OrderBy(g => g.Key)
                .SelectMany(g => g.OrderBy(r => IntervalSamples.Priority(p.Seed, f, rows.Item(r))).Take(p.Samples).Select((r, i) => (Row: r, Stratum: g.Key, Rank: i + 1)))
                .ToList();
            var storedSamples = examples[f].Where(e => e.Kind == "sample").ToList();
            Assert.Equal(samples.Count, storedSamples.Count);
            for (int i = 0; i < samples.Count; i++) AssertExample(storedSamples[i], samples[i].Row, samples[i].Rank, samples[i].Stratum, rows, f, p, texts);
        }
    }

    private static void AssertExample(TopExampleRow e, int row, int rank, int? stratum, SiteRows rows, int f, Settings p, TokenTexts texts)
    {
        Assert.Equal((rank, stratum, rows.Seq[row], rows.Pos[row], rows.Token[row], rows.Value(row, f)), (e.Rank, e.Stratum, e.Seq, e.Pos, e.Token, e.Activation));
        Assert.Equal(texts[rows.Token[row]], e.TokenText);
        int first = row, last = row;
        while (first > 0 && rows.Seq[first - 1] == rows.Seq[row] && row - first < p.Before) first--;
        while (last + 1 < rows.Rows && rows.Seq[last + 1] == rows.Seq[row] && last - row < p.After) last++;
        Assert.Equal(rows.Pos[first], e.WindowStart);
        Assert.Equal(rows.Token[first..(last + 1)], e.WindowTokens);
        Assert.Equal(rows.Token[first..(last + 1)].Select(t => texts[t]), e.WindowTexts);
        Assert.Equal(Enumerable.Range(first, last - first + 1).Select(r => rows.Value(r, f)), e.WindowActivations);
    }

    private static async Task AssertCoActivationEqualsNumpyAsync(SweepDatabase database, long run, FeatureSiteRow site, SiteRows rows)
    {
        var reference = NumpyReference.Run("coactivation.py", (rows.Values.Select(v => (double)v).ToArray(), rows.Rows, rows.Width), ([0.0], 1, 1), new { k = Feats.Partners });
        var stored = await database.GetFeatureCoactivationsAsync(run, site);
        Assert.Contains(stored, s => s.Measure == "correlation" && s.Rank == Feats.Partners);
        foreach (var measure in new[] { "correlation", "jaccard" })
        {
            var expected = reference.GetProperty(measure);
            for (int f = 0; f < rows.Width; f++)
            {
                var mine = stored.Where(s => s.Feature == f && s.Measure == measure).ToList();
                var theirs = expected[f].EnumerateArray().Select(t => (Partner: t[0].GetInt32(), Value: t[1].GetDouble(), Both: t[2].GetInt64())).ToList();
                Assert.Equal(theirs.Count, mine.Count);
                for (int i = 0; i < mine.Count; i++) Assert.Equal(theirs[i].Value, mine[i].Value, 1e-9);
                // Token-determined codes make some partners exactly as good as others (equal r or J up to rounding): numpy
                // and the sparse sums order such ties by their last bits. Within a group of tied values the partners are
                // the same set; a group cut by the top k is only counted.
                for (int i = 0; i < mine.Count;)
                {
                    int end = i + 1;
                    while (end < mine.Count && Math.Abs(theirs[end].Value - theirs[i].Value) <= 1e-12) end++;
                    if (end < mine.Count || mine.Count < Feats.Partners)
                    {
                        var what = $"{site.Site} {measure} feature {f} ranks {i + 1}-{end}";
                        Assert.True(theirs[i..end].Select(t => t.Partner).Order().SequenceEqual(mine[i..end].Select(m => m.Partner).Order()), what);
                        Assert.True(theirs[i..end].Select(t => t.Both).Order().SequenceEqual(mine[i..end].Select(m => m.CoFirings).Order()), what);
                    }
                    i = end;
                }
            }
        }
    }

    private static async Task AssertLogitEffectsEqualNumpyAsync(SweepDatabase database, long run, FeatureSiteRow site, PlantedFeatureJob job, TokenTexts texts)
    {
        using var sae = (SparseAutoencoder)SaeLoader.Load(Path.Combine(job.Root, "saes", site.Sae!));
        // The tiny models tie their unembedding to the token embedding; the final RMSNorm's gain is model.norm.weight.
        using var weights = SafeTensors.Open(Path.Combine(job.Root, "models", site.Model, "model.safetensors"));
        Assert.False(weights.Contains("lm_head.weight"));
        var (embedding, vocab, d) = job.Embedding(site.Model);
        var gain = weights.ReadFloats("model.norm.weight");
        var reference = NumpyReference.Run("logit_effects.py", (sae.WDec.Select(v => (double)v).ToArray(), site.Width, d),
            (embedding.Select(v => (double)v).ToArray(), vocab, d), new { k = Feats.LogitTokens, gain = gain.Select(g => (double)g).ToArray() });
        var stored = await database.GetFeatureLogitsAsync(run, site);
        Assert.Equal(site.Width * 2 * Feats.LogitTokens, stored.Count);
        for (int f = 0; f < site.Width; f++)
            foreach (var direction in new[] { "promoted", "suppressed" })
            {
                var mine = stored.Where(l => l.Feature == f && l.Direction == direction).ToList();
                var theirs = reference[f].GetProperty(direction).EnumerateArray().ToList();
                Assert.Equal(theirs.Select(t => t[0].GetInt32()), mine.Select(l => l.Token));
                Assert.Equal(mine.Select(l => texts[l.Token]), mine.Select(l => l.TokenText));
                for (int i = 0; i < mine.Count; i++) Assert.Equal(theirs[i][1].GetDouble(), mine[i].Effect, 1e-9);
            }
    }

    /// <summary>The planted feature fires exactly on " cat": its top contexts are " cat" tokens, their windows highlight exactly the " cat" tokens.</summary>
    private static async Task AssertPlantedFeatureAsync(SweepDatabase database, long run, FeatureSiteRow site, SiteRows rows, PlantedFeatureJob job, int planted)
    {
        var card = await database.GetFeatureCardAsync(run, site, planted);
        int cats = rows.Token.Count(t => t == job.Cat);
        Assert.True(cats > Feats.TopK * 4, $"the corpus should hold many ' cat' tokens, has {cats}");
        Assert.Equal(cats, card.Stat!.Fired);
        var top = card.Examples.Where(e => e.Kind == "top").ToList();
        Assert.Equal(Feats.TopK, top.Count);
        foreach (var e in top)
        {
            Assert.Equal((job.Cat, " cat"), (e.Token, e.TokenText));
            Assert.Equal(card.Stat.MaxActivation, e.Activation, 1e-5);
            Assert.Equal(e.WindowTokens.Select(t => t == job.Cat), e.WindowActivations.Select(a => a > 0));
            Assert.True(e.WindowActivations[e.Pos - e.WindowStart] == e.Activation);
        }
        // Its samples are " cat" tokens too: it fires nowhere else.
        Assert.All(card.Examples, e => Assert.Equal(job.Cat, e.Token));
    }

    /// <summary>
    /// Runs a job unit by unit as a worker and the ledger would (start, execute, commit), except that four units of the
    /// SAE A features analysis lose their first attempt after its work was done — the lease expired before the report
    /// came — and run again under a new lease: a map unit whose partial file still verifies, a map unit whose partial
    /// file was damaged meanwhile, a merge unit, and the finalize unit. The first attempt's late report is refused.
    /// </summary>
    private static async Task<(long RunId, List<(string Description, bool Reused)> Retried)> RunByHandWithRetriesAsync(JobSpec spec, SweepDatabase database)
    {
        long runId = await StartedRun.CreateAsync(spec, database, CancellationToken.None);
        await using var run = await StartedRun.StartAsync(database, runId, spec, resume: false, CancellationToken.None);
        var prepared = run.Prepared;
        var target = prepared.Units.OfType<AnalysisUnitWork>().Where(u => u.Target.Analysis.Name == "feats" && u.Target.A.Site == PlantedFeatureJob.SiteA).ToList();
        var maps = target.OfType<AnalysisMapWork>().ToList();
        Assert.True(maps.Count > 4, "the corpus should span several shards");
        var toRetry = new Dictionary<string, bool> // unit key -> damage its partial before the retry
        {
            [maps[0].Key] = false, [maps[1].Key] = true, [target.OfType<AnalysisMergeWork>().First().Key] = false, [target.OfType<AnalysisFinalizeWork>().Single().Key] = false,
        };
        var retried = new List<(string, bool)>();
        using var executor = prepared.CreateExecutor(spec.Execution.Device);
        var done = new HashSet<string>();
        var pending = prepared.Units.ToList();
        while (pending.Count > 0)
        {
            var unit = pending.First(u => u.DependsOn.All(done.Contains));
            pending.Remove(unit);
            await run.Ledger.MarkStartedAsync(unit.Key, 1, "test-worker", "local");
            var first = await executor.ExecuteAsync(unit, 1, CancellationToken.None);
            if (toRetry.TryGetValue(unit.Key, out bool damage))
            {
                await run.Ledger.MarkRetriedAsync(unit.Key, 1, "the lease expired (test)");
                if (damage)
                {
                    var partial = prepared.Context.PartialPath(spec.Analyses[0].Name, unit.Key);
                    var bytes = File.ReadAllBytes(partial);
                    File.WriteAllBytes(partial, bytes[..(bytes.Length / 2)]);
                }
                await run.Ledger.MarkStartedAsync(unit.Key, 2, "test-worker", "local");
                var second = await executor.ExecuteAsync(unit, 2, CancellationToken.None);
                Assert.Equal(CommitOutcome.Committed, await run.Ledger.CommitAsync(unit.Key, 2, second));
                Assert.Equal(CommitOutcome.AlreadyDone, await run.Ledger.CommitAsync(unit.Key, 1, first));
                retried.Add((unit.Description, second.Reused));
            }
            else Assert.Equal(CommitOutcome.Committed, await run.Ledger.CommitAsync(unit.Key, 1, first));
            done.Add(unit.Key);
        }
        await run.FinishAsync(new RunOutcome(true, null, prepared.Units.Count, 0, toRetry.Count));
        return (runId, retried);
    }
}
