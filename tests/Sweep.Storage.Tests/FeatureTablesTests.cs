using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>The features analysis' tables: bulk COPY and read back, one feature's card, replacement on a retry, the Neuronpedia and histogram views.</summary>
[Collection(PostgresCollection.Name)]
public sealed class FeatureTablesTests(PostgresFixture pg) : IAsyncLifetime
{
    private const string Site = "blocks.1.hook_resid_post/sae/res";
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static FeatureResults Results(int features, string? neuronpedia, double shift = 0)
    {
        var site = new FeatureSiteRow("feat", "gpt", Site, "res", features, 1000, neuronpedia, """{"top_k": 2}""");
        var stats = Enumerable.Range(0, features).Select(f => new FeatureStatRow("feat", "gpt", Site, f, 1000, f, f / 1000.0 + shift,
            0.01 * f, 2.5 + f, f == 0 ? null : 1.5, [1, 61, 101], [f, 2, 1])).ToList();
        var examples = Enumerable.Range(0, features).SelectMany(f => new[]
        {
            new TopExampleRow("feat", "gpt", Site, f, "top", null, 1, 3.5f + f, 7, 4, 42, " cat", 2, [11, 12, 42, 13], ["a", "↵", " cat", "'s"], [0f, 0.5f, 3.5f + f, 0f]),
            new TopExampleRow("feat", "gpt", Site, f, "top", null, 2, 1.25f, 8, 0, 5, "<bos>", 0, [5], ["<bos>"], [1.25f]),
            new TopExampleRow("feat", "gpt", Site, f, "sample", 12, 1, 0.125f, 9, 1, 6, "x", 0, [5, 6], ["<bos>", "x"], [0f, 0.125f]),
        }).ToList();
        var partners = Enumerable.Range(0, features).SelectMany(f => new[]
        {
            new FeatureCoactivationRow("feat", "gpt", Site, f, "correlation", 1, (f + 1) % features, 0.75, 12),
            new FeatureCoactivationRow("feat", "gpt", Site, f, "jaccard", 1, (f + 2) % features, 0.5, 12),
        }).ToList();
        var logits = Enumerable.Range(0, features).SelectMany(f => new[]
        {
            new FeatureLogitRow("feat", "gpt", Site, f, "promoted", 1, 17, " dog", 1.5),
            new FeatureLogitRow("feat", "gpt", Site, f, "suppressed", 1, 18, "\u00e9t\u00e9", -1.5),
        }).ToList();
        return new FeatureResults([site], stats, examples, partners, logits);
    }

    [Fact]
    public async Task Feature_rows_are_copied_in_bulk_read_back_per_feature_and_replaced_when_their_unit_runs_again()
    {
        var run = await _db.CreateRunAsync("features", "version: 1\n", "sha256:spec", "/tmp/store");
        await _db.UpsertUnitsAsync(run, [new("analysis/feat/site", "analysis"), new("analysis/feat/logits", "analysis")]);
        var results = Results(3000, "gpt2-small/1-res-jb");
        // Logits come from another unit of the same analysis: each unit owns (and replaces) only its rows.
        await _db.WriteFeatureResultsAsync(run, "analysis/feat/site", results with { Logits = [] });
        await _db.WriteFeatureResultsAsync(run, "analysis/feat/logits", new FeatureResults(Logits: results.Logits));

        var site = Assert.Single(await _db.GetFeatureSitesAsync(run));
        Assert.Equal(results.Sites![0] with { ParamsJson = site.ParamsJson }, site);
        Assert.Equal("{\"top_k\": 2}", site.ParamsJson);

        var stats = await _db.GetFeatureStatsAsync(run, site);
        Assert.Equal(3000, stats.Count);
        Assert.Equal(results.Stats!.Select(Flat), stats.Select(Flat));
        Assert.Null(stats[0].MeanWhenActive);

        var card = await _db.GetFeatureCardAsync(run, site, 1234);
        Assert.Equal(Flat(results.Stats![1234]), Flat(card.Stat!));
        Assert.Equal(results.Examples!.Where(e => e.Feature == 1234).Select(Flat), card.Examples.Select(Flat));
        Assert.Equal(["a", "↵", " cat", "'s"], card.Examples[0].WindowTexts);
        Assert.Equal([0f, 0.5f, 1237.5f, 0f], card.Examples[0].WindowActivations);
        Assert.Equal(results.Coactivations!.Where(c => c.Feature == 1234), card.Coactivations);
        Assert.Equal(results.Logits!.Where(c => c.Feature == 1234), card.Logits);
        Assert.Equal("https://www.neuronpedia.org/gpt2-small/1-res-jb/1234", site.NeuronpediaUrl(1234));

        // The same link in SQL, and the histogram with its bin edges.
        var url = await PostgresFixture.ScalarAsync<string>(pg.Server.ConnectionString,
            $"SELECT neuronpedia_url FROM feature_links WHERE run_id = {run} AND sae = 'res' AND feature = 1234");
        Assert.Equal("https://www.neuronpedia.org/gpt2-small/1-res-jb/1234", url);
        await using (var connection = new NpgsqlConnection(pg.Server.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"SELECT bin, lower_edge, upper_edge, count FROM feature_histograms WHERE run_id = {run} AND feature = 5 ORDER BY bin", connection);
            await using var reader = await command.ExecuteReaderAsync();
            var bins = new List<(short, double, double, long)>();
            while (await reader.ReadAsync()) bins.Add((reader.GetInt16(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetInt64(3)));
            Assert.Equal(3, bins.Count);
            Assert.Equal((1, 1e-6, 5L), (bins[0].Item1, bins[0].Item2, bins[0].Item4));
            Assert.Equal(1.0, bins[1].Item2, 12);
            Assert.Equal(Math.Pow(10, 0.1), bins[1].Item3, 12);
            Assert.Equal(double.PositiveInfinity, bins[2].Item3);
        }

        // A retry of the site unit replaces its rows and leaves the logits unit's alone.
        await _db.WriteFeatureResultsAsync(run, "analysis/feat/site", Results(10, null, shift: 0.5) with { Logits = [] });
        site = Assert.Single(await _db.GetFeatureSitesAsync(run));
        Assert.Null(site.NeuronpediaUrl(3));
        Assert.Equal(10, (await _db.GetFeatureStatsAsync(run, site)).Count);
        Assert.Equal(0.503, (await _db.GetFeatureStatsAsync(run, site, 3, 4))[0].Frequency, 12);
        Assert.Equal(6000, (await _db.GetFeatureLogitsAsync(run, site)).Count);
        Assert.Equal(0L, await PostgresFixture.ScalarAsync<long>(pg.Server.ConnectionString, $"SELECT count(*) FROM feature_links WHERE run_id = {run}"));
    }

    [Fact]
    public async Task Every_feature_table_has_an_index_for_feature_N_of_a_site()
    {
        (await _db.GetFeatureSitesAsync(-1)).ToString();   // migrated
        foreach (var table in new[] { "feature_stats", "top_examples", "feature_coactivations", "feature_logits" })
        {
            var leading = await PostgresFixture.ScalarAsync<long>(pg.Server.ConnectionString, $"""
                SELECT count(*) FROM pg_indexes
                WHERE tablename = '{table}' AND indexdef LIKE '%(run_id, model, site, feature%'
                """);
            Assert.True(leading >= 1, $"{table} has no index led by (run_id, model, site, feature)");
        }
    }

    private static string Flat(FeatureStatRow r) =>
        $"{r with { HistogramBins = [], HistogramCounts = [] }}|{string.Join(',', r.HistogramBins)}|{string.Join(',', r.HistogramCounts)}";

    private static string Flat(TopExampleRow r) =>
        $"{r with { WindowTokens = [], WindowTexts = [], WindowActivations = [] }}|{string.Join(',', r.WindowTokens)}|{string.Join('\u0001', r.WindowTexts)}|{string.Join(',', r.WindowActivations)}";
}
