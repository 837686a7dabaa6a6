using Npgsql;
using NpgsqlTypes;

namespace Sweep.Storage.Database;

/// <summary>A row of <c>feature_sites</c>: one site a features analysis described (docs/schema.md).</summary>
public sealed record FeatureSiteRow(
    string Analysis, string Model, string Site, string? Sae, int Width, long NTokens, string? NeuronpediaId, string ParamsJson = "{}")
{
    public const string NeuronpediaBase = "https://www.neuronpedia.org/";

    /// <summary>Neuronpedia's page of a feature, <c>https://www.neuronpedia.org/{model}/{sae-id}/{feature}</c>, or null without an id.</summary>
    public string? NeuronpediaUrl(int feature) =>
        string.IsNullOrEmpty(NeuronpediaId) ? null : $"{NeuronpediaBase}{NeuronpediaId}/{feature}";
}

/// <summary>A row of <c>feature_stats</c>; the histogram as its non-empty bins and their counts.</summary>
public sealed record FeatureStatRow(
    string Analysis, string Model, string Site, int Feature, long NTokens, long Fired, double Frequency,
    double MeanActivation, double MaxActivation, double? MeanWhenActive, short[] HistogramBins, long[] HistogramCounts);

/// <summary>A row of <c>top_examples</c>: a top activating context (kind <c>top</c>) or a stratum's sample (kind <c>sample</c>).</summary>
public sealed record TopExampleRow(
    string Analysis, string Model, string Site, int Feature, string Kind, int? Stratum, int Rank, float Activation,
    int Seq, int Pos, int Token, string TokenText, int WindowStart, int[] WindowTokens, string[] WindowTexts, float[] WindowActivations);

/// <summary>A row of <c>feature_coactivations</c>.</summary>
public sealed record FeatureCoactivationRow(
    string Analysis, string Model, string Site, int Feature, string Measure, int Rank, int Partner, double Value, long CoFirings);

/// <summary>A row of <c>feature_logits</c>.</summary>
public sealed record FeatureLogitRow(
    string Analysis, string Model, string Site, int Feature, string Direction, int Rank, int Token, string TokenText, double Effect);

/// <summary>Everything one unit of a features analysis stores; each list may be empty.</summary>
public sealed record FeatureResults(
    IReadOnlyList<FeatureSiteRow>? Sites = null, IReadOnlyList<FeatureStatRow>? Stats = null, IReadOnlyList<TopExampleRow>? Examples = null,
    IReadOnlyList<FeatureCoactivationRow>? Coactivations = null, IReadOnlyList<FeatureLogitRow>? Logits = null);

/// <summary>One feature of one site, everything stored about it (examples: top by rank, then samples by stratum and rank).</summary>
public sealed record FeatureCard(
    FeatureSiteRow Site, FeatureStatRow? Stat, IReadOnlyList<TopExampleRow> Examples,
    IReadOnlyList<FeatureCoactivationRow> Coactivations, IReadOnlyList<FeatureLogitRow> Logits);

public sealed partial class SweepDatabase
{
    private static readonly string[] FeatureTables = ["feature_sites", "feature_stats", "top_examples", "feature_coactivations", "feature_logits"];

    /// <summary>
    /// Replaces the feature rows of unit <paramref name="unitKey"/> with <paramref name="results"/> in one transaction (a
    /// retried unit leaves one set). The unit must be in the ledger.
    /// </summary>
    public Task WriteFeatureResultsAsync(long runId, string unitKey, FeatureResults results, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await ReplaceFeatureResultsAsync(connection, tx, runId, unitKey, results, c);
            await tx.CommitAsync(c);
        }, ct);

    /// <summary>Deletes the unit's feature rows and bulk-copies <paramref name="results"/>, inside <paramref name="tx"/> (for a unit's commit).</summary>
    internal static async Task ReplaceFeatureResultsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string unitKey,
        FeatureResults results, CancellationToken ct)
    {
        await using (var delete = new NpgsqlCommand(string.Concat(FeatureTables.Select(t => $"DELETE FROM {t} WHERE run_id = @run_id AND unit_key = @unit_key;\n")), connection, tx))
        {
            delete.Parameters.AddWithValue("run_id", runId);
            delete.Parameters.AddWithValue("unit_key", unitKey);
            await delete.ExecuteNonQueryAsync(ct);
        }
        if (results.Sites is { Count: > 0 } sites)
            await CopyAsync(connection, "feature_sites (run_id, unit_key, analysis, model, site, sae, width, n_tokens, neuronpedia_id, params)", runId, unitKey, sites,
                async (w, r) =>
                {
                    await Key(w, r.Analysis, r.Model, r.Site, ct);
                    await Nullable(w, r.Sae, ct);
                    await w.WriteAsync(r.Width, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.NTokens, NpgsqlDbType.Bigint, ct);
                    await Nullable(w, string.IsNullOrEmpty(r.NeuronpediaId) ? null : r.NeuronpediaId, ct);
                    await w.WriteAsync(string.IsNullOrWhiteSpace(r.ParamsJson) ? "{}" : r.ParamsJson, NpgsqlDbType.Jsonb, ct);
                }, ct);
        if (results.Stats is { Count: > 0 } stats)
            await CopyAsync(connection, """
                feature_stats (run_id, unit_key, analysis, model, site, feature, n_tokens, fired, frequency, mean_activation,
                               max_activation, mean_when_active, histogram_bins, histogram_counts)
                """, runId, unitKey, stats, async (w, r) =>
                {
                    await Key(w, r.Analysis, r.Model, r.Site, ct);
                    await w.WriteAsync(r.Feature, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.NTokens, NpgsqlDbType.Bigint, ct);
                    await w.WriteAsync(r.Fired, NpgsqlDbType.Bigint, ct);
                    await w.WriteAsync(r.Frequency, NpgsqlDbType.Double, ct);
                    await w.WriteAsync(r.MeanActivation, NpgsqlDbType.Double, ct);
                    await w.WriteAsync(r.MaxActivation, NpgsqlDbType.Double, ct);
                    if (r.MeanWhenActive is { } m) await w.WriteAsync(m, NpgsqlDbType.Double, ct); else await w.WriteNullAsync(ct);
                    await w.WriteAsync(r.HistogramBins, NpgsqlDbType.Array | NpgsqlDbType.Smallint, ct);
                    await w.WriteAsync(r.HistogramCounts, NpgsqlDbType.Array | NpgsqlDbType.Bigint, ct);
                }, ct);
        if (results.Examples is { Count: > 0 } examples)
            await CopyAsync(connection, """
                top_examples (run_id, unit_key, analysis, model, site, feature, kind, stratum, rank, activation, seq, pos, token, token_text,
                              window_start, window_tokens, window_texts, window_activations)
                """, runId, unitKey, examples, async (w, r) =>
                {
                    await Key(w, r.Analysis, r.Model, r.Site, ct);
                    await w.WriteAsync(r.Feature, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Kind, NpgsqlDbType.Text, ct);
                    if (r.Stratum is { } s) await w.WriteAsync((short)s, NpgsqlDbType.Smallint, ct); else await w.WriteNullAsync(ct);
                    await w.WriteAsync(r.Rank, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Activation, NpgsqlDbType.Real, ct);
                    await w.WriteAsync(r.Seq, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Pos, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Token, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.TokenText, NpgsqlDbType.Text, ct);
                    await w.WriteAsync(r.WindowStart, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.WindowTokens, NpgsqlDbType.Array | NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.WindowTexts, NpgsqlDbType.Array | NpgsqlDbType.Text, ct);
                    await w.WriteAsync(r.WindowActivations, NpgsqlDbType.Array | NpgsqlDbType.Real, ct);
                }, ct);
        if (results.Coactivations is { Count: > 0 } partners)
            await CopyAsync(connection, "feature_coactivations (run_id, unit_key, analysis, model, site, feature, measure, rank, partner, value, co_firings)",
                runId, unitKey, partners, async (w, r) =>
                {
                    await Key(w, r.Analysis, r.Model, r.Site, ct);
                    await w.WriteAsync(r.Feature, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Measure, NpgsqlDbType.Text, ct);
                    await w.WriteAsync(r.Rank, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Partner, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Value, NpgsqlDbType.Double, ct);
                    await w.WriteAsync(r.CoFirings, NpgsqlDbType.Bigint, ct);
                }, ct);
        if (results.Logits is { Count: > 0 } logits)
            await CopyAsync(connection, "feature_logits (run_id, unit_key, analysis, model, site, feature, direction, rank, token, token_text, effect)",
                runId, unitKey, logits, async (w, r) =>
                {
                    await Key(w, r.Analysis, r.Model, r.Site, ct);
                    await w.WriteAsync(r.Feature, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Direction, NpgsqlDbType.Text, ct);
                    await w.WriteAsync(r.Rank, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.Token, NpgsqlDbType.Integer, ct);
                    await w.WriteAsync(r.TokenText, NpgsqlDbType.Text, ct);
                    await w.WriteAsync(r.Effect, NpgsqlDbType.Double, ct);
                }, ct);
    }

    // Binary COPY: a 16k-feature SAE gives 16k stat rows and ~16k x (top-k + samples) example rows; COPY streams them in one round trip.
    private static async Task CopyAsync<T>(NpgsqlConnection connection, string table, long runId, string unitKey, IReadOnlyList<T> rows,
        Func<NpgsqlBinaryImporter, T, Task> write, CancellationToken ct)
    {
        await using var importer = await connection.BeginBinaryImportAsync($"COPY {table} FROM STDIN (FORMAT BINARY)", ct);
        foreach (var row in rows)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(runId, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(unitKey, NpgsqlDbType.Text, ct);
            await write(importer, row);
        }
        await importer.CompleteAsync(ct);
    }

    private static async Task Key(NpgsqlBinaryImporter w, string analysis, string model, string site, CancellationToken ct)
    {
        await w.WriteAsync(analysis, NpgsqlDbType.Text, ct);
        await w.WriteAsync(model, NpgsqlDbType.Text, ct);
        await w.WriteAsync(site, NpgsqlDbType.Text, ct);
    }

    private static Task Nullable(NpgsqlBinaryImporter w, string? value, CancellationToken ct) => WriteNullableAsync(w, value, ct);

    // ---- readers ----

    /// <summary>The run's feature sites, by model, site, analysis.</summary>
    public Task<IReadOnlyList<FeatureSiteRow>> GetFeatureSitesAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<FeatureSiteRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, sae, width, n_tokens, neuronpedia_id, params::text
                FROM feature_sites WHERE run_id = @run_id ORDER BY model, site, analysis
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, r => new FeatureSiteRow(r.GetString(0), r.GetString(1), r.GetString(2), NullableString(r, 3),
                r.GetInt32(4), r.GetInt64(5), NullableString(r, 6), r.GetString(7)), c);
        }, ct);

    /// <summary>A site's statistics rows for features [<paramref name="from"/>, <paramref name="to"/>), by feature.</summary>
    public Task<IReadOnlyList<FeatureStatRow>> GetFeatureStatsAsync(long runId, FeatureSiteRow site, int from = 0, int to = int.MaxValue, CancellationToken ct = default) =>
        RangeAsync(runId, site, from, to, """
            SELECT analysis, model, site, feature, n_tokens, fired, frequency, mean_activation, max_activation, mean_when_active,
                   histogram_bins, histogram_counts
            FROM feature_stats WHERE {0} ORDER BY feature
            """, r => new FeatureStatRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5),
                r.GetDouble(6), r.GetDouble(7), r.GetDouble(8), r.IsDBNull(9) ? null : r.GetDouble(9),
                r.GetFieldValue<short[]>(10), r.GetFieldValue<long[]>(11)), ct);

    /// <summary>A site's examples for features [from, to): by feature, top examples by rank, then samples by stratum and rank.</summary>
    public Task<IReadOnlyList<TopExampleRow>> GetTopExamplesAsync(long runId, FeatureSiteRow site, int from = 0, int to = int.MaxValue, CancellationToken ct = default) =>
        RangeAsync(runId, site, from, to, """
            SELECT analysis, model, site, feature, kind, stratum, rank, activation, seq, pos, token, token_text,
                   window_start, window_tokens, window_texts, window_activations
            FROM top_examples WHERE {0} ORDER BY feature, kind DESC, stratum, rank
            """, r => new TopExampleRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4),
                r.IsDBNull(5) ? null : r.GetInt16(5), r.GetInt32(6), r.GetFloat(7), r.GetInt32(8), r.GetInt32(9), r.GetInt32(10), r.GetString(11),
                r.GetInt32(12), r.GetFieldValue<int[]>(13), r.GetFieldValue<string[]>(14), r.GetFieldValue<float[]>(15)), ct);

    /// <summary>A site's co-activation partners for features [from, to), by feature, measure, rank.</summary>
    public Task<IReadOnlyList<FeatureCoactivationRow>> GetFeatureCoactivationsAsync(long runId, FeatureSiteRow site, int from = 0, int to = int.MaxValue, CancellationToken ct = default) =>
        RangeAsync(runId, site, from, to, """
            SELECT analysis, model, site, feature, measure, rank, partner, value, co_firings
            FROM feature_coactivations WHERE {0} ORDER BY feature, measure, rank
            """, r => new FeatureCoactivationRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4),
                r.GetInt32(5), r.GetInt32(6), r.GetDouble(7), r.GetInt64(8)), ct);

    /// <summary>A site's logit effects for features [from, to), by feature, direction (promoted first), rank.</summary>
    public Task<IReadOnlyList<FeatureLogitRow>> GetFeatureLogitsAsync(long runId, FeatureSiteRow site, int from = 0, int to = int.MaxValue, CancellationToken ct = default) =>
        RangeAsync(runId, site, from, to, """
            SELECT analysis, model, site, feature, direction, rank, token, token_text, effect
            FROM feature_logits WHERE {0} ORDER BY feature, direction, rank
            """, r => new FeatureLogitRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4),
                r.GetInt32(5), r.GetInt32(6), r.GetString(7), r.GetDouble(8)), ct);

    /// <summary>Everything stored about one feature of a site.</summary>
    public async Task<FeatureCard> GetFeatureCardAsync(long runId, FeatureSiteRow site, int feature, CancellationToken ct = default)
    {
        var stats = await GetFeatureStatsAsync(runId, site, feature, feature + 1, ct);
        return new FeatureCard(site, stats.Count == 0 ? null : stats[0],
            await GetTopExamplesAsync(runId, site, feature, feature + 1, ct),
            await GetFeatureCoactivationsAsync(runId, site, feature, feature + 1, ct),
            await GetFeatureLogitsAsync(runId, site, feature, feature + 1, ct));
    }

    /// <summary>Rows of one site's features [from, to); <paramref name="sql"/> has a {0} where the filter goes.</summary>
    private Task<IReadOnlyList<T>> RangeAsync<T>(long runId, FeatureSiteRow site, int from, int to, string sql, Func<NpgsqlDataReader, T> row, CancellationToken ct) =>
        RunAsync<IReadOnlyList<T>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand(string.Format(System.Globalization.CultureInfo.InvariantCulture, sql,
                "run_id = @run_id AND model = @model AND site = @site AND analysis = @analysis AND feature >= @from AND feature < @to"), connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("model", site.Model);
            command.Parameters.AddWithValue("site", site.Site);
            command.Parameters.AddWithValue("analysis", site.Analysis);
            command.Parameters.AddWithValue("from", from);
            command.Parameters.AddWithValue("to", to);
            return await ReadListAsync(command, row, c);
        }, ct);
}
