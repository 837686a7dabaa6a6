using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>feature_matches: bulk COPY with the unit's commit, read back in order, replaced when a reopened unit commits again.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FeatureMatchTests(PostgresFixture pg) : IAsyncLifetime
{
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static List<FeatureMatchRow> Rows(int features, double shift = 0) =>
        Enumerable.Range(0, features).SelectMany(f => new[]
        {
            new FeatureMatchRow("corr", "a", "blocks.0.hook_resid_post", "b", "blocks.1.hook_resid_post", SweepDatabase.AToB,
                f, 1, f % 7 == 0 ? null : (f * 31) % features, f % 7 == 0 ? 0 : 0.5 + shift + f * 1e-6, f % 3 == 0, f % 7 == 0),
            new FeatureMatchRow("corr", "a", "blocks.0.hook_resid_post", "b", "blocks.1.hook_resid_post", SweepDatabase.BToA,
                f, 1, f, -0.25, false, false),
        }).ToList();

    [Fact]
    public async Task Feature_matches_commit_with_their_unit_and_a_reopened_unit_replaces_them()
    {
        var run = await _db.CreateRunAsync("fm", "version: 1\n", "sha256:spec", "/tmp/store");
        await _db.UpsertUnitsAsync(run, [new("analysis/corr", "analysis")]);
        var rows = Rows(5000);
        await _db.StartAttemptAsync(run, "analysis/corr", 1, "reducer", "node-a");
        Assert.Equal(CommitOutcome.Committed, await _db.CommitUnitAsync(run, "analysis/corr", 1, new UnitOutput(FeatureMatches: rows)));

        var stored = await _db.GetFeatureMatchesAsync(run);
        Assert.Equal(rows.OrderBy(r => r.Direction, StringComparer.Ordinal).ThenBy(r => r.Feature), stored);
        Assert.Null(stored.First(r => r.Dead).Match);

        await _db.ReopenRunAsync(run, ["analysis/corr"]);
        await _db.StartAttemptAsync(run, "analysis/corr", 2, "reducer", "node-b");
        Assert.Equal(CommitOutcome.Committed, await _db.CommitUnitAsync(run, "analysis/corr", 2, new UnitOutput(FeatureMatches: Rows(10, shift: 0.1))));
        stored = await _db.GetFeatureMatchesAsync(run);
        Assert.Equal(20, stored.Count);
        Assert.Equal(0.6 + 1e-6, stored.Single(r => r.Direction == SweepDatabase.AToB && r.Feature == 1).Correlation, 12);
    }
}
