using Npgsql;

namespace Sweep.Storage.Database;

/// <summary>
/// One result table of a run as <c>sweep export</c> writes it: a name (the file's), a query of its rows for
/// <c>@run_id</c>, and the table the columns come from (for their NOT NULL constraints; the name unless given).
/// </summary>
public sealed record ResultTable(string Name, string Query, string? Table = null)
{
    public string Source => Table ?? Name;

    /// <summary>
    /// Every result table, in export order. A table another analysis adds is one line here: its name and a query with
    /// <c>WHERE run_id = @run_id</c> and an <c>ORDER BY</c> that makes the file reproducible.
    /// </summary>
    public static IReadOnlyList<ResultTable> All { get; } =
    [
        new("runs", "SELECT * FROM runs WHERE run_id = @run_id"),
        new("metrics", "SELECT * FROM metrics WHERE run_id = @run_id ORDER BY metric_id"),
        new("model_evaluations", "SELECT * FROM model_evaluations WHERE run_id = @run_id ORDER BY role DESC, model"),
        new("feature_matches", "SELECT * FROM feature_matches WHERE run_id = @run_id ORDER BY analysis, model_a, site_a, model_b, site_b, direction, feature, rank"),
        new("feature_sites", "SELECT * FROM feature_sites WHERE run_id = @run_id ORDER BY model, site, analysis"),
        new("feature_stats", "SELECT * FROM feature_stats WHERE run_id = @run_id ORDER BY model, site, analysis, feature"),
        new("top_examples", "SELECT * FROM top_examples WHERE run_id = @run_id ORDER BY model, site, analysis, feature, kind DESC, stratum, rank"),
        new("feature_coactivations", "SELECT * FROM feature_coactivations WHERE run_id = @run_id ORDER BY model, site, analysis, feature, measure, rank"),
        new("feature_logits", "SELECT * FROM feature_logits WHERE run_id = @run_id ORDER BY model, site, analysis, feature, direction, rank"),
        new("corpus_labels", "SELECT * FROM corpus_labels WHERE run_id = @run_id ORDER BY seq, field"),
        new("concept_means", "SELECT * FROM concept_means WHERE run_id = @run_id ORDER BY analysis, model, site, label_order"),
        new("contrast_labels", "SELECT * FROM contrast_labels WHERE run_id = @run_id ORDER BY analysis, model, site, label"),
        new("contrasts", "SELECT * FROM contrasts WHERE run_id = @run_id ORDER BY analysis, model, site, label, rank"),
        new("selectivity", "SELECT * FROM selectivity WHERE run_id = @run_id ORDER BY analysis, model, site, preferred_label, rank"),
        new("pca_components", "SELECT * FROM pca_components WHERE run_id = @run_id ORDER BY analysis, model, site, component"),
        new("pca_coordinates", "SELECT * FROM pca_coordinates WHERE run_id = @run_id ORDER BY analysis, model, site, item NULLS FIRST, label_order, component"),
    ];

    /// <summary>The tables only concept analyses (and a labelled corpus) fill.</summary>
    public static IReadOnlySet<string> ConceptTables { get; } =
        new HashSet<string>(["corpus_labels", "concept_means", "contrast_labels", "contrasts", "selectivity", "pca_components", "pca_coordinates"], StringComparer.Ordinal);
}

/// <summary>
/// A column of a result table: its name, the CLR type of its values (the element type for an array column), whether
/// it is an array, whether it may be NULL (from the table's own NOT NULL constraints).
/// </summary>
public sealed record ResultColumn(string Name, Type Type, bool IsArray, bool Nullable);

public sealed partial class SweepDatabase
{
    /// <summary>
    /// Streams a result table's rows for one run in batches of at most <paramref name="batchRows"/> (values as Npgsql
    /// reads them: jsonb as text, timestamptz as a UTC DateTime, arrays as CLR arrays, NULL as null). Called at least
    /// once, with an empty batch for an empty table, so a writer always learns the columns.
    /// </summary>
    public Task ReadResultTableAsync(long runId, ResultTable table, int batchRows,
        Func<IReadOnlyList<ResultColumn>, IReadOnlyList<object?[]>, Task> batch, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            // One transaction, so every batch sees the same snapshot.
            await using var tx = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, c);
            await using var command = new NpgsqlCommand(table.Query, connection, tx);
            command.Parameters.AddWithValue("run_id", runId);
            // Whether a column may be NULL: its table's own NOT NULL constraints (columns are matched by name).
            var notNull = new HashSet<string>(StringComparer.Ordinal);
            await using (var catalog = new NpgsqlCommand("SELECT attname FROM pg_attribute WHERE attrelid = @table::regclass AND attnum > 0 AND attnotnull", connection, tx))
            {
                catalog.Parameters.AddWithValue("table", table.Source);
                await using var names = await catalog.ExecuteReaderAsync(c);
                while (await names.ReadAsync(c)) notNull.Add(names.GetString(0));
            }
            await ReadBatchesAsync(command, notNull, batchRows, batch, c);
            await tx.CommitAsync(c);
        }, ct);

    private static readonly Dictionary<string, Type> ArrayElements = new(StringComparer.Ordinal)
    {
        ["smallint"] = typeof(short), ["integer"] = typeof(int), ["bigint"] = typeof(long), ["real"] = typeof(float),
        ["double precision"] = typeof(double), ["text"] = typeof(string), ["boolean"] = typeof(bool),
    };

    private static async Task ReadBatchesAsync(NpgsqlCommand command, HashSet<string> notNull, int batchRows,
        Func<IReadOnlyList<ResultColumn>, IReadOnlyList<object?[]>, Task> batch, CancellationToken c)
    {
        await using var reader = await command.ExecuteReaderAsync(c);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i =>
        {
            var name = reader.GetName(i);
            var typeName = reader.GetDataTypeName(i);
            bool array = typeName.EndsWith("[]", StringComparison.Ordinal);
            var type = array ? ArrayElements.GetValueOrDefault(typeName[..^2])
                ?? throw new NotSupportedException($"{name}: arrays of {typeName[..^2]} cannot be exported") : reader.GetFieldType(i);
            return new ResultColumn(name, type, array, !notNull.Contains(name));
        }).ToList();
        var rows = new List<object?[]>(batchRows);
        bool sent = false;
        while (await reader.ReadAsync(c))
        {
            var row = new object?[columns.Count];
            for (int i = 0; i < row.Length; i++) row[i] = await reader.IsDBNullAsync(i, c) ? null : reader.GetValue(i);
            rows.Add(row);
            if (rows.Count < batchRows) continue;
            await batch(columns, rows);
            rows = new List<object?[]>(batchRows);
            sent = true;
        }
        if (rows.Count > 0 || !sent) await batch(columns, rows);
    }
}
