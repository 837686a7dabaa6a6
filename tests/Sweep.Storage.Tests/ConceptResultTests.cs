using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>The concept tables (migration 5): binary COPY per unit, NULLs where undefined, arrays SQL can index, replaced on a retry.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ConceptResultTests(PostgresFixture pg) : IAsyncLifetime
{
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private const string Site = "blocks.1.hook_resid_post/sae/s";

    private static ConceptResults Results(double shift) => new(
        Means:
        [
            new("days", "m", Site, "monday", 0, 12, "last", [1.5 + shift, -2, 0], [0.25, 1, 0], null),
            new("days", "m", Site, "tuesday", 1, 1, "last", [3, 4, 5], null, "one item: variance undefined"),
        ],
        ContrastLabels: [new("diff", "m", Site, "monday", "neutral", 12, 30, 2, 1, null)],
        Contrasts:
        [
            new("diff", "m", Site, "monday", "neutral", 1, 7, 2.5, 0.5, 2 + shift, 5.1, 20.3, 1e-40, 3e-39, 1.9, 12, 30, null),
            new("diff", "m", Site, "monday", "neutral", 2, 3, 0.5, 0.0, 0.5, null, null, null, null, null, 12, 30, "zero variance in both groups"),
        ],
        Selectivity: [new("spec", "m", Site, 7, "monday", 1, "ratio", 0.9, 2.5, 0.13, ["monday", "tuesday"], [2.5, 0.13])],
        PcaComponents:
        [
            new("circle", "m", "hook_embed", "label_means", 1, 4.0, 0.6, 7, true, [0.6, 0.8], null),
            new("circle", "m", "hook_embed", "label_means", 2, 2.0, 0.3, 7, true, [-0.8, 0.6], null),
        ],
        PcaCoordinates:
        [
            new("circle", "m", "hook_embed", "label_means", "monday", 0, null, 1, 1.0 + shift),
            new("circle", "m", "hook_embed", "label_means", "monday", 0, null, 2, 0.0),
            new("circle", "m", "hook_embed", "sample", "monday", 0, (5L << 32) | 3, 1, 0.7),
        ]);

    [Fact]
    public async Task Concept_rows_round_trip_with_nulls_and_arrays_and_a_retry_replaces_them()
    {
        var run = await _db.CreateRunAsync("concepts", "version: 1\n", "sha256:spec", "/tmp/store");
        await _db.UpsertUnitsAsync(run, [new("analysis/days", "analysis"), new("analysis/other", "analysis")]);
        await _db.ReplaceConceptResultsAsync(run, "analysis/days", Results(0));
        await _db.ReplaceConceptResultsAsync(run, "analysis/other", new ConceptResults(ContrastLabels: [new("x", "m", Site, "a", "rest", 1, 2, 0, 0, "fewer than two items in a group")]));

        var counts = await _db.GetConceptMeanCountsAsync(run);
        Assert.Equal([("monday", 12L, (string?)null), ("tuesday", 1L, "one item: variance undefined")], counts.Select(m => (m.Label, m.N, m.Note)));
        var contrasts = await _db.GetContrastsAsync(run, maxRank: 10);
        Assert.Equal(Results(0).Contrasts, contrasts);
        Assert.Single(await _db.GetContrastsAsync(run, maxRank: 1));
        Assert.Equal(2, (await _db.GetContrastLabelsAsync(run)).Count);
        var specialist = Assert.Single(await _db.GetSelectivityAsync(run, 5));
        Assert.Equal(["monday", "tuesday"], specialist.Labels);
        Assert.Equal([2.5, 0.13], specialist.Means);
        Assert.Equal([1, 2], (await _db.GetPcaComponentsAsync(run)).Select(c => c.Component));
        Assert.Equal([1.0, 0.0], (await _db.GetPcaLabelPointsAsync(run, 2)).Select(p => p.Value));   // the sampled item is not a label point

        // Plain SQL reads the vectors: dimension j is element j + 1.
        Assert.Equal(-2.0, await ScalarAsync<double>($"SELECT mean[2] FROM concept_means WHERE run_id = {run} AND label = 'monday'"));
        Assert.True(await ScalarAsync<bool>($"SELECT variance IS NULL FROM concept_means WHERE run_id = {run} AND label = 'tuesday'"));
        Assert.Equal(1e-40, await ScalarAsync<double>($"SELECT p FROM contrasts WHERE run_id = {run} AND feature = 7"));

        await _db.ReplaceConceptResultsAsync(run, "analysis/days", Results(1) with { Contrasts = [Results(1).Contrasts![0]] });
        Assert.Equal(3.0, Assert.Single(await _db.GetContrastsAsync(run, 10)).Difference);
        Assert.Equal(2.0, (await _db.GetPcaLabelPointsAsync(run, 2))[0].Value);
        Assert.Equal(2, (await _db.GetContrastLabelsAsync(run)).Count);   // the other unit's rows are untouched
    }

    [Fact]
    public async Task Corpus_labels_are_stored_per_sequence_and_field_and_replaced_as_a_whole()
    {
        var run = await _db.CreateRunAsync("labels", "version: 1\n", "sha256:spec", "/tmp/store");
        CorpusLabelRow[] rows = [new(0, 1, "label", "monday"), new(0, 1, "group", "day"), new(1, 3, "label", "may"), new(1, 3, "group", "month")];
        await _db.ReplaceCorpusLabelsAsync(run, rows);
        await _db.ReplaceCorpusLabelsAsync(run, rows);
        Assert.Equal(rows.OrderBy(r => r.Seq).ThenBy(r => r.Field, StringComparer.Ordinal), await _db.GetCorpusLabelsAsync(run));
        Assert.Equal(1L, await ScalarAsync<long>($"SELECT count(*) FROM corpus_labels WHERE run_id = {run} AND field = 'label' AND value = 'may'"));
    }

    private Task<T> ScalarAsync<T>(string sql) => PostgresFixture.ScalarAsync<T>(pg.Server.ConnectionString, sql);
}
