using Sweep.Pipeline.Ledger;
using Sweep.Pipeline.Results;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Tests;

/// <summary>
/// The commit path every unit takes, against a real PostgreSQL: a worker's result file is read, checked and bulk-loaded
/// in the ledger's first-commit-wins transaction keyed by (unit, lease).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class DatabaseRunLedgerTests(PostgresFixture pg) : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-ledger-").FullName;
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<(long Run, DatabaseRunLedger Ledger)> RunWithUnitAsync(string unit)
    {
        long run = await _db.CreateRunAsync("ledger", "version: 1\n", "sha256:spec", _dir);
        await _db.UpsertUnitsAsync(run, [new(unit, "analysis")]);
        return (run, new DatabaseRunLedger(_db, run));
    }

    [Fact]
    public async Task A_commit_loads_the_rows_of_the_result_file_and_removes_the_file()
    {
        var (run, ledger) = await RunWithUnitAsync("u");
        await ledger.MarkStartedAsync("u", 1, "reducer", "node-a");
        var output = ResultFileTests.Output();
        var report = ResultFile.Write(Path.Combine(_dir, "u.1.rows"), output, reused: false);

        Assert.Equal(CommitOutcome.Committed, await ledger.CommitAsync("u", 1, report));

        Assert.False(File.Exists(report.ResultFile));
        Assert.Equal(output.FeatureMatches!.OrderBy(m => m.Direction, StringComparer.Ordinal).ThenBy(m => m.Feature).ThenBy(m => m.Rank),
            await _db.GetFeatureMatchesAsync(run));
        Assert.Equal(output.Shards, await _db.GetShardsAsync(run));
        var metrics = (await _db.GetMetricsAsync(run)).Select(m => m.Metric).ToList();
        Assert.Equal(output.Metrics!.Select(m => (m.Measure, m.NTokens)), metrics.Select(m => (m.Measure, m.NTokens)));
        Assert.Equal(0.8125, metrics[0].Value);
        var unit = (await _db.GetUnitsAsync(run)).Single();
        Assert.Equal((UnitStatus.Done, "shards/tiny-a", "c0ffee"), (unit.Status, unit.OutputUri, unit.Checksum));
    }

    [Fact]
    public async Task The_database_refuses_a_duplicate_and_a_stale_lease_whatever_the_caller_remembers()
    {
        var (run, ledger) = await RunWithUnitAsync("u");
        await ledger.MarkStartedAsync("u", 1, "slow", "node-a");
        await ledger.MarkRetriedAsync("u", 1, "lease expired");
        await ledger.MarkStartedAsync("u", 2, "fast", "node-b");
        var late = ResultFile.Write(Path.Combine(_dir, "u.1.rows"), ResultFileTests.Output(matches: 5), reused: false);
        var current = ResultFile.Write(Path.Combine(_dir, "u.2.rows"), ResultFileTests.Output(matches: 7), reused: false);
        var again = ResultFile.Write(Path.Combine(_dir, "u.2b.rows"), ResultFileTests.Output(matches: 9), reused: false);

        Assert.Equal(CommitOutcome.StaleLease, await ledger.CommitAsync("u", 1, late));
        Assert.Equal(CommitOutcome.Committed, await ledger.CommitAsync("u", 2, current));
        Assert.Equal(CommitOutcome.AlreadyDone, await ledger.CommitAsync("u", 2, again));

        Assert.Equal(7, (await _db.GetFeatureMatchesAsync(run)).Count);
        Assert.Equal(1, (await _db.GetCommitCountsAsync(run))["u"]);
        Assert.Equal(["retried", "done"], (await _db.GetAttemptsAsync(run)).Select(a => a.Outcome));
    }

    [Fact]
    public async Task A_result_file_that_does_not_match_its_report_commits_nothing()
    {
        var (run, ledger) = await RunWithUnitAsync("u");
        await ledger.MarkStartedAsync("u", 1, "reducer", "node-a");
        var report = ResultFile.Write(Path.Combine(_dir, "u.1.rows"), ResultFileTests.Output(), reused: false);
        var bytes = File.ReadAllBytes(report.ResultFile);
        bytes[100] ^= 1;
        File.WriteAllBytes(report.ResultFile, bytes);

        await Assert.ThrowsAsync<InvalidDataException>(() => ledger.CommitAsync("u", 1, report));
        Assert.Equal(UnitStatus.Running, (await _db.GetUnitsAsync(run)).Single().Status);
        Assert.Empty(await _db.GetFeatureMatchesAsync(run));
    }
}
