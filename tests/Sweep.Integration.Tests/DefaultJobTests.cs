using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>The repository's own jobs.yaml, run as the README's first command runs it (own embedded PostgreSQL).</summary>
public sealed class DefaultJobTests
{
    [Fact]
    public async Task The_default_job_runs_with_the_embedded_database_and_prints_run_shards_and_table()
    {
        var work = Directory.CreateTempSubdirectory("sweep-default-job-").FullName;
        try
        {
            // A copy of the repository's job and corpus, so the test never writes into the checkout.
            Directory.CreateDirectory(Path.Combine(work, "demo"));
            File.Copy(Path.Combine(Fixtures.RepoRoot, "jobs.yaml"), Path.Combine(work, "jobs.yaml"));
            File.Copy(Path.Combine(Fixtures.RepoRoot, "demo", "corpus.txt"), Path.Combine(work, "demo", "corpus.txt"));

            var demo = await SweepProcess.RunAsync(work, "demo", "models", "demo/models");
            Assert.Equal(0, demo.ExitCode);
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
