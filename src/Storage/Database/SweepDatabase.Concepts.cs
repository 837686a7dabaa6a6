using Npgsql;
using NpgsqlTypes;

namespace Sweep.Storage.Database;

/// <summary>One label value of one sequence of a run's corpus (<c>corpus_labels</c>).</summary>
public sealed record CorpusLabelRow(int Seq, int Line, string Field, string Value);

/// <summary>A row of <c>concept_means</c>: one label of one site. Vectors are per dimension; null with a <paramref name="Note"/> when undefined.</summary>
public sealed record ConceptMeanRow(string Analysis, string Model, string Site, string Label, int LabelOrder, long N, string Reduction,
    double[]? Mean, double[]? Variance, string? Note);

/// <summary>A row of <c>contrast_labels</c>: one label's contrast at one site as a whole.</summary>
public sealed record ContrastLabelRow(string Analysis, string Model, string Site, string Label, string Baseline, long NLabel, long NBaseline,
    int Tested, int Significant, string? Note);

/// <summary>A row of <c>contrasts</c>: one of a label's top-k features. Null statistics are undefined (<paramref name="Note"/> says why).</summary>
public sealed record ContrastRow(string Analysis, string Model, string Site, string Label, string Baseline, int Rank, int Feature,
    double MeanLabel, double MeanBaseline, double Difference, double? T, double? Df, double? P, double? Q, double? CohensD,
    long NLabel, long NBaseline, string? Note);

/// <summary>A row of <c>selectivity</c>: one of a label's top specialists, with its mean per label (<paramref name="Means"/> in <paramref name="Labels"/> order).</summary>
public sealed record SelectivityRow(string Analysis, string Model, string Site, int Feature, string PreferredLabel, int Rank, string IndexKind,
    double Selectivity, double PreferredMean, double OthersMean, string[] Labels, double[] Means);

/// <summary>A row of <c>pca_components</c> (component from 1). <paramref name="Loading"/> may be empty when read without vectors.</summary>
public sealed record PcaComponentRow(string Analysis, string Model, string Site, string Source, int Component, double ExplainedVariance,
    double ExplainedVarianceRatio, int Items, bool Cyclic, double[] Loading, string? Note);

/// <summary>A row of <c>pca_coordinates</c>: a label's point (<paramref name="Item"/> null) or an item's, on one component (from 1).</summary>
public sealed record PcaCoordinateRow(string Analysis, string Model, string Site, string Source, string? Label, int? LabelOrder, long? Item,
    int Component, double Value);

/// <summary>Everything one concept analysis unit stores; any part may be empty.</summary>
public sealed record ConceptResults(
    IReadOnlyList<ConceptMeanRow>? Means = null, IReadOnlyList<ContrastLabelRow>? ContrastLabels = null,
    IReadOnlyList<ContrastRow>? Contrasts = null, IReadOnlyList<SelectivityRow>? Selectivity = null,
    IReadOnlyList<PcaComponentRow>? PcaComponents = null, IReadOnlyList<PcaCoordinateRow>? PcaCoordinates = null);

public sealed partial class SweepDatabase
{
    /// <summary>The tables a concept analysis unit writes; their rows are deleted with (and replaced by) the unit's.</summary>
    public static readonly IReadOnlyList<string> ConceptTables = ["concept_means", "contrast_labels", "contrasts", "selectivity", "pca_components", "pca_coordinates"];

    /// <summary>Replaces the run's corpus labels with <paramref name="rows"/> in one transaction (a resumed run writes them again, harmlessly).</summary>
    public Task ReplaceCorpusLabelsAsync(long runId, IReadOnlyList<CorpusLabelRow> rows, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using (var delete = new NpgsqlCommand("DELETE FROM corpus_labels WHERE run_id = @run_id", connection, tx))
            {
                delete.Parameters.AddWithValue("run_id", runId);
                await delete.ExecuteNonQueryAsync(c);
            }
            await using (var importer = await connection.BeginBinaryImportAsync("COPY corpus_labels (run_id, seq, line, field, value) FROM STDIN (FORMAT BINARY)", c))
            {
                foreach (var r in rows)
                {
                    await importer.StartRowAsync(c);
                    await importer.WriteAsync(runId, NpgsqlDbType.Bigint, c);
                    await importer.WriteAsync(r.Seq, NpgsqlDbType.Integer, c);
                    await importer.WriteAsync(r.Line, NpgsqlDbType.Integer, c);
                    await importer.WriteAsync(r.Field, NpgsqlDbType.Text, c);
                    await importer.WriteAsync(r.Value, NpgsqlDbType.Text, c);
                }
                await importer.CompleteAsync(c);
            }
            await tx.CommitAsync(c);
        }, ct);

    public Task<IReadOnlyList<CorpusLabelRow>> GetCorpusLabelsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<CorpusLabelRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("SELECT seq, line, field, value FROM corpus_labels WHERE run_id = @run_id ORDER BY seq, field", connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, r => new CorpusLabelRow(r.GetInt32(0), r.GetInt32(1), r.GetString(2), r.GetString(3)), c);
        }, ct);

    /// <summary>
    /// Replaces a unit's rows in the concept tables with <paramref name="results"/>, in one transaction. The unit must be
    /// in the ledger. (A run commits them with the unit instead: <see cref="UnitOutput.Concepts"/> in the unit's commit.)
    /// </summary>
    public Task ReplaceConceptResultsAsync(long runId, string unitKey, ConceptResults results, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await DeleteConceptResultsAsync(connection, tx, runId, unitKey, c);
            await CopyConceptResultsAsync(connection, runId, unitKey, results, c);
            await tx.CommitAsync(c);
        }, ct);

    private static async Task DeleteConceptResultsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string unitKey, CancellationToken c)
    {
        await using var delete = new NpgsqlCommand(
            string.Concat(ConceptTables.Select(t => $"DELETE FROM {t} WHERE run_id = @run_id AND unit_key = @unit_key;\n")), connection, tx);
        delete.Parameters.AddWithValue("run_id", runId);
        delete.Parameters.AddWithValue("unit_key", unitKey);
        await delete.ExecuteNonQueryAsync(c);
    }

    // Binary COPY: a contrast over a 65k-feature SAE with 20 labels and top_k 100 is 2,000 rows, a PCA of decoder rows 65k x k.
    private static async Task CopyConceptResultsAsync(NpgsqlConnection connection, long runId, string unitKey, ConceptResults results, CancellationToken c)
    {
        async Task Copy<T>(IReadOnlyList<T>? rows, string columns, Func<NpgsqlBinaryImporter, T, Task> write)
        {
            if (rows is not { Count: > 0 }) return;
            await using var importer = await connection.BeginBinaryImportAsync($"COPY {columns} FROM STDIN (FORMAT BINARY)", c);
            foreach (var row in rows)
            {
                await importer.StartRowAsync(c);
                await importer.WriteAsync(runId, NpgsqlDbType.Bigint, c);
                await importer.WriteAsync(unitKey, NpgsqlDbType.Text, c);
                await write(importer, row);
            }
            await importer.CompleteAsync(c);
        }
        async Task Site(NpgsqlBinaryImporter i, string analysis, string model, string site)
        {
            await i.WriteAsync(analysis, NpgsqlDbType.Text, c);
            await i.WriteAsync(model, NpgsqlDbType.Text, c);
            await i.WriteAsync(site, NpgsqlDbType.Text, c);
        }

        await Copy(results.Means, "concept_means (run_id, unit_key, analysis, model, site, label, label_order, n, reduction, mean, variance, note)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Label, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.LabelOrder, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.N, NpgsqlDbType.Bigint, c);
            await i.WriteAsync(r.Reduction, NpgsqlDbType.Text, c);
            await WriteArray(i, r.Mean, c);
            await WriteArray(i, r.Variance, c);
            await WriteText(i, r.Note, c);
        });
        await Copy(results.ContrastLabels, "contrast_labels (run_id, unit_key, analysis, model, site, label, baseline, n_label, n_baseline, tested, significant, note)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Label, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Baseline, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.NLabel, NpgsqlDbType.Bigint, c);
            await i.WriteAsync(r.NBaseline, NpgsqlDbType.Bigint, c);
            await i.WriteAsync(r.Tested, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.Significant, NpgsqlDbType.Integer, c);
            await WriteText(i, r.Note, c);
        });
        await Copy(results.Contrasts, "contrasts (run_id, unit_key, analysis, model, site, label, baseline, rank, feature, mean_label, mean_baseline, difference, t, df, p, q, cohens_d, n_label, n_baseline, note)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Label, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Baseline, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Rank, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.Feature, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.MeanLabel, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.MeanBaseline, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.Difference, NpgsqlDbType.Double, c);
            foreach (var v in new[] { r.T, r.Df, r.P, r.Q, r.CohensD }) await WriteDouble(i, v, c);
            await i.WriteAsync(r.NLabel, NpgsqlDbType.Bigint, c);
            await i.WriteAsync(r.NBaseline, NpgsqlDbType.Bigint, c);
            await WriteText(i, r.Note, c);
        });
        await Copy(results.Selectivity, "selectivity (run_id, unit_key, analysis, model, site, feature, preferred_label, rank, index_kind, selectivity, preferred_mean, others_mean, labels, means)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Feature, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.PreferredLabel, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Rank, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.IndexKind, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Selectivity, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.PreferredMean, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.OthersMean, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.Labels, NpgsqlDbType.Array | NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Means, NpgsqlDbType.Array | NpgsqlDbType.Double, c);
        });
        await Copy(results.PcaComponents, "pca_components (run_id, unit_key, analysis, model, site, source, component, explained_variance, explained_variance_ratio, items, cyclic, loading, note)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Source, NpgsqlDbType.Text, c);
            await i.WriteAsync(r.Component, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.ExplainedVariance, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.ExplainedVarianceRatio, NpgsqlDbType.Double, c);
            await i.WriteAsync(r.Items, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.Cyclic, NpgsqlDbType.Boolean, c);
            await i.WriteAsync(r.Loading, NpgsqlDbType.Array | NpgsqlDbType.Double, c);
            await WriteText(i, r.Note, c);
        });
        await Copy(results.PcaCoordinates, "pca_coordinates (run_id, unit_key, analysis, model, site, source, label, label_order, item, component, value)", async (i, r) =>
        {
            await Site(i, r.Analysis, r.Model, r.Site);
            await i.WriteAsync(r.Source, NpgsqlDbType.Text, c);
            await WriteText(i, r.Label, c);
            if (r.LabelOrder is { } order) await i.WriteAsync(order, NpgsqlDbType.Integer, c); else await i.WriteNullAsync(c);
            if (r.Item is { } item) await i.WriteAsync(item, NpgsqlDbType.Bigint, c); else await i.WriteNullAsync(c);
            await i.WriteAsync(r.Component, NpgsqlDbType.Integer, c);
            await i.WriteAsync(r.Value, NpgsqlDbType.Double, c);
        });
    }

    private static async Task WriteArray(NpgsqlBinaryImporter importer, double[]? values, CancellationToken c)
    {
        if (values is null) await importer.WriteNullAsync(c);
        else await importer.WriteAsync(values, NpgsqlDbType.Array | NpgsqlDbType.Double, c);
    }

    private static async Task WriteDouble(NpgsqlBinaryImporter importer, double? value, CancellationToken c)
    {
        if (value is { } v) await importer.WriteAsync(v, NpgsqlDbType.Double, c);
        else await importer.WriteNullAsync(c);
    }

    private static async Task WriteText(NpgsqlBinaryImporter importer, string? value, CancellationToken c)
    {
        if (value is null) await importer.WriteNullAsync(c);
        else await importer.WriteAsync(value, NpgsqlDbType.Text, c);
    }

    // ---- reading, for reports ----

    /// <summary>The run's concept means without their vectors (label counts and notes), by analysis, model, site, label order.</summary>
    public Task<IReadOnlyList<ConceptMeanRow>> GetConceptMeanCountsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<ConceptMeanRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, label, label_order, n, reduction, note FROM concept_means
                WHERE run_id = @run_id ORDER BY analysis, model, site, label_order
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, r => new ConceptMeanRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4),
                r.GetInt64(5), r.GetString(6), null, null, NullableString(r, 7)), c);
        }, ct);

    public Task<IReadOnlyList<ContrastLabelRow>> GetContrastLabelsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<ContrastLabelRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, label, baseline, n_label, n_baseline, tested, significant, note FROM contrast_labels
                WHERE run_id = @run_id ORDER BY analysis, model, site, label
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, r => new ContrastLabelRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                r.GetInt64(5), r.GetInt64(6), r.GetInt32(7), r.GetInt32(8), NullableString(r, 9)), c);
        }, ct);

    /// <summary>The run's contrast rows with rank ≤ <paramref name="maxRank"/>, by analysis, model, site, label, rank.</summary>
    public Task<IReadOnlyList<ContrastRow>> GetContrastsAsync(long runId, int maxRank, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<ContrastRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, label, baseline, rank, feature, mean_label, mean_baseline, difference,
                       t, df, p, q, cohens_d, n_label, n_baseline, note
                FROM contrasts WHERE run_id = @run_id AND rank <= @max_rank
                ORDER BY analysis, model, site, label, rank
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("max_rank", maxRank);
            return await ReadListAsync(command, r => new ContrastRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4),
                r.GetInt32(5), r.GetInt32(6), r.GetDouble(7), r.GetDouble(8), r.GetDouble(9), NullableDouble(r, 10), NullableDouble(r, 11),
                NullableDouble(r, 12), NullableDouble(r, 13), NullableDouble(r, 14), r.GetInt64(15), r.GetInt64(16), NullableString(r, 17)), c);
        }, ct);

    /// <summary>The run's specialists with rank ≤ <paramref name="maxRank"/>, by analysis, model, site, preferred label, rank.</summary>
    public Task<IReadOnlyList<SelectivityRow>> GetSelectivityAsync(long runId, int maxRank, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<SelectivityRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, feature, preferred_label, rank, index_kind, selectivity, preferred_mean, others_mean, labels, means
                FROM selectivity WHERE run_id = @run_id AND rank <= @max_rank
                ORDER BY analysis, model, site, preferred_label, rank
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("max_rank", maxRank);
            return await ReadListAsync(command, r => new SelectivityRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), r.GetString(4),
                r.GetInt32(5), r.GetString(6), r.GetDouble(7), r.GetDouble(8), r.GetDouble(9), r.GetFieldValue<string[]>(10), r.GetFieldValue<double[]>(11)), c);
        }, ct);

    /// <summary>The run's PCA components without their loading vectors, by analysis, model, site, component.</summary>
    public Task<IReadOnlyList<PcaComponentRow>> GetPcaComponentsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<PcaComponentRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, source, component, explained_variance, explained_variance_ratio, items, cyclic, note
                FROM pca_components WHERE run_id = @run_id ORDER BY analysis, model, site, component
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, r => new PcaComponentRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetInt32(4),
                r.GetDouble(5), r.GetDouble(6), r.GetInt32(7), r.GetBoolean(8), [], NullableString(r, 9)), c);
        }, ct);

    /// <summary>The labels' points on the first <paramref name="components"/> components (no item points), by analysis, model, site, label order, component.</summary>
    public Task<IReadOnlyList<PcaCoordinateRow>> GetPcaLabelPointsAsync(long runId, int components, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<PcaCoordinateRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, source, label, label_order, component, value
                FROM pca_coordinates WHERE run_id = @run_id AND item IS NULL AND component <= @components
                ORDER BY analysis, model, site, label_order, component
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("components", components);
            return await ReadListAsync(command, r => new PcaCoordinateRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
                NullableString(r, 4), r.IsDBNull(5) ? null : r.GetInt32(5), null, r.GetInt32(6), r.GetDouble(7)), c);
        }, ct);

    /// <summary>
    /// The item points (sampled prompts, decoder rows) of the run's pca analyses, at most <paramref name="maxItemsPerSite"/>
    /// items per analysis, model and site (those of lowest item id), every component, by analysis, model, site, item, component.
    /// </summary>
    public Task<IReadOnlyList<PcaCoordinateRow>> GetPcaItemPointsAsync(long runId, int maxItemsPerSite, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<PcaCoordinateRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model, site, source, label, label_order, item, component, value
                FROM (
                    SELECT *, dense_rank() OVER (PARTITION BY analysis, model, site ORDER BY item) AS place
                    FROM pca_coordinates WHERE run_id = @run_id AND item IS NOT NULL
                ) ranked
                WHERE place <= @max_items
                ORDER BY analysis, model, site, item, component
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("max_items", (long)maxItemsPerSite);
            return await ReadListAsync(command, r => new PcaCoordinateRow(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3),
                NullableString(r, 4), r.IsDBNull(5) ? null : r.GetInt32(5), r.GetInt64(6), r.GetInt32(7), r.GetDouble(8)), c);
        }, ct);

    private static double? NullableDouble(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetDouble(ordinal);
}
