using System.Net.Sockets;
using Npgsql;
using NpgsqlTypes;
using Polly;
using Polly.Retry;

namespace Sweep.Storage.Database;

/// <summary>
/// Sweep's PostgreSQL store: runs, the units ledger, the shards catalog and metrics. One
/// <see cref="NpgsqlDataSource"/> per instance; every operation is one transaction, retried
/// as a whole on transient connection errors.
/// </summary>
public sealed partial class SweepDatabase : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly ResiliencePipeline _retry;

    private readonly string? _socketPath;

    private SweepDatabase(NpgsqlDataSource dataSource, string description, string? socketPath)
    {
        _dataSource = dataSource;
        Description = description;
        _socketPath = socketPath;
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(ex => ex.IsTransient),
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();
    }

    /// <summary><c>host:port/database</c> of this store, without credentials.</summary>
    public string Description { get; }

    /// <summary>Connects (URL or key=value string) and applies pending migrations. An unreachable server throws <see cref="DatabaseUnavailableException"/>.</summary>
    public static async Task<SweepDatabase> OpenAsync(string connectionString, CancellationToken ct = default)
    {
        var normalized = ConnectionStrings.Normalize(connectionString);
        var builder = new NpgsqlDataSourceBuilder(normalized);
        var settings = builder.ConnectionStringBuilder;
        settings.ApplicationName ??= "sweep";
        var socketPath = settings.Host is { } host && host.StartsWith('/') ? Path.Combine(host, $".s.PGSQL.{settings.Port}") : null;
        var database = new SweepDatabase(builder.Build(), ConnectionStrings.Describe(normalized), socketPath);
        try
        {
            await database.ResilientAsync(c => Migrator.MigrateAsync(database._dataSource, c), ct);
            return database;
        }
        catch
        {
            await database.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    // ---- runs ----

    public Task<long> CreateRunAsync(string name, string specYaml, string specDigest, string storeDir, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO runs (name, spec_yaml, spec_digest, store_dir)
                VALUES (@name, @spec_yaml, @spec_digest, @store_dir)
                RETURNING run_id
                """, connection);
            command.Parameters.AddWithValue("name", name);
            command.Parameters.AddWithValue("spec_yaml", specYaml);
            command.Parameters.AddWithValue("spec_digest", specDigest);
            command.Parameters.AddWithValue("store_dir", storeDir);
            return (long)(await command.ExecuteScalarAsync(c))!;
        }, ct);

    /// <summary>
    /// Moves a run to <paramref name="status"/>. Running stamps started_at (first time only) and clears finished_at and
    /// error, so a resumed run reads as running again, and stamps its heartbeat. Succeeded, failed and interrupted stamp
    /// finished_at and, in the same transaction, close what the run left open: attempts still running become abandoned
    /// and running units pending, so no 'running' row outlives its run. Failed requires an error; interrupted may say how.
    /// </summary>
    public Task SetRunStatusAsync(long runId, RunStatus status, string? error = null, CancellationToken ct = default)
    {
        if (status == RunStatus.Failed && string.IsNullOrWhiteSpace(error))
            throw new ArgumentException("a failed run needs an error message", nameof(error));
        if (status is not (RunStatus.Failed or RunStatus.Interrupted)) error = null;
        bool ends = status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Interrupted;
        return RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using var command = new NpgsqlCommand("""
                UPDATE runs SET
                    status      = @status,
                    error       = @error,
                    started_at  = CASE WHEN @status = 'running' THEN coalesce(started_at, now()) ELSE started_at END,
                    heartbeat_at = CASE WHEN @status = 'running' THEN now() ELSE heartbeat_at END,
                    finished_at = CASE WHEN @status IN ('succeeded', 'failed', 'interrupted') THEN now() ELSE NULL END
                WHERE run_id = @run_id
                """, connection, tx);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("status", status.ToText());
            command.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Text) { Value = error is null ? DBNull.Value : ErrorText(error) });
            if (await command.ExecuteNonQueryAsync(c) == 0) throw UnknownRun(runId);
            if (ends)
            {
                await using var close = new NpgsqlCommand("""
                    UPDATE unit_attempts SET outcome = 'abandoned', error = @why, finished_at = now() WHERE run_id = @run_id AND outcome = 'running';
                    UPDATE units SET status = 'pending', updated_at = now() WHERE run_id = @run_id AND status = 'running';
                    """, connection, tx);
                close.Parameters.AddWithValue("run_id", runId);
                close.Parameters.AddWithValue("why", status switch
                {
                    RunStatus.Succeeded => "the run had already succeeded",
                    RunStatus.Failed => "the run failed",
                    _ => "the run was interrupted",
                });
                await close.ExecuteNonQueryAsync(c);
            }
            await tx.CommitAsync(c);
        }, ct);
    }

    public Task<RunRecord?> GetRunAsync(long runId, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT run_id, name, status, error, spec_yaml, spec_digest, store_dir, created_at, started_at, finished_at,
                       extract(epoch FROM now() - heartbeat_at)::float8
                FROM runs WHERE run_id = @run_id
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            await using var reader = await command.ExecuteReaderAsync(c);
            if (!await reader.ReadAsync(c)) return null;
            return new RunRecord(
                reader.GetInt64(0), reader.GetString(1), StatusText.ParseRun(reader.GetString(2)), NullableString(reader, 3),
                reader.GetString(4), reader.GetString(5), reader.GetString(6),
                reader.GetFieldValue<DateTimeOffset>(7), NullableTime(reader, 8), NullableTime(reader, 9),
                reader.IsDBNull(10) ? null : TimeSpan.FromSeconds(reader.GetDouble(10)));
        }, ct);

    /// <summary>
    /// Stamps a running run's heartbeat (the database's clock, so nodes' clocks never matter); a run that is no
    /// longer running is left as it is. Returns whether the run was running.
    /// </summary>
    public Task<bool> TouchRunAsync(long runId, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("UPDATE runs SET heartbeat_at = now() WHERE run_id = @run_id AND status = 'running'", connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await command.ExecuteNonQueryAsync(c) == 1;
        }, ct);

    // ---- the units ledger ----

    /// <summary>Inserts the units as pending; units already in the ledger are left exactly as they are (a resumed run keeps its progress).</summary>
    public Task UpsertUnitsAsync(long runId, IEnumerable<UnitRecord> units, CancellationToken ct = default)
    {
        var list = units.ToList();
        if (list.Count == 0) return Task.CompletedTask;
        return RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                INSERT INTO units (run_id, unit_key, stage, description)
                SELECT @run_id, k, s, d FROM unnest(@keys, @stages, @descriptions) AS u(k, s, d)
                ON CONFLICT (run_id, unit_key) DO NOTHING
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("keys", list.Select(u => u.UnitKey).ToArray());
            command.Parameters.AddWithValue("stages", list.Select(u => u.Stage).ToArray());
            command.Parameters.AddWithValue("descriptions", list.Select(u => u.Description).ToArray());
            try
            {
                await command.ExecuteNonQueryAsync(c);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
            {
                throw UnknownRun(runId);
            }
        }, ct);
    }

    /// <summary>Replaces a unit's shard, metric and feature-match rows (and its feature and concept rows, when it has any) with <paramref name="output"/>'s, inside <paramref name="tx"/>.</summary>
    private static async Task ReplaceOutputsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string unitKey,
        UnitOutput output, CancellationToken c)
    {
        await using (var delete = new NpgsqlCommand("""
            DELETE FROM shards WHERE run_id = @run_id AND unit_key = @unit_key;
            DELETE FROM metrics WHERE run_id = @run_id AND unit_key = @unit_key;
            DELETE FROM feature_matches WHERE run_id = @run_id AND unit_key = @unit_key;
            """, connection, tx))
        {
            delete.Parameters.AddWithValue("run_id", runId);
            delete.Parameters.AddWithValue("unit_key", unitKey);
            await delete.ExecuteNonQueryAsync(c);
        }

        if (output.Shards is { Count: > 0 } shards) await InsertShardsAsync(connection, tx, runId, unitKey, shards, c);
        if (output.Metrics is { Count: > 0 } metrics) await CopyMetricsAsync(connection, runId, unitKey, metrics, c);
        if (output.FeatureMatches is { Count: > 0 } matches) await CopyFeatureMatchesAsync(connection, runId, unitKey, matches, c);
        if (output.Features is { } features) await ReplaceFeatureResultsAsync(connection, tx, runId, unitKey, features, c);
        // Only units that write concept rows have any to replace (a resumed unit's earlier rows go first).
        if (output.Concepts is { } concepts)
        {
            await DeleteConceptResultsAsync(connection, tx, runId, unitKey, c);
            await CopyConceptResultsAsync(connection, runId, unitKey, concepts, c);
        }
    }

    /// <summary>The run's ledger, ordered by unit key.</summary>
    public Task<IReadOnlyList<UnitState>> GetUnitsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<UnitState>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT run_id, unit_key, stage, description, status, attempts, worker, output_uri, checksum, error, updated_at, lease
                FROM units WHERE run_id = @run_id ORDER BY unit_key
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader => new UnitState(
                reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                StatusText.ParseUnit(reader.GetString(4)), reader.GetInt32(5), NullableString(reader, 6),
                NullableString(reader, 7), NullableString(reader, 8), NullableString(reader, 9),
                reader.GetFieldValue<DateTimeOffset>(10), reader.GetInt32(11)), c);
        }, ct);

    // ---- catalog and results ----

    /// <summary>The run's shards catalog, ordered by model, site, shard index.</summary>
    public Task<IReadOnlyList<ShardRow>> GetShardsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<ShardRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT {ShardColumns} FROM shards WHERE run_id = @run_id ORDER BY model, site, shard_index
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadShardsAsync(command, c);
        }, ct);

    /// <summary>
    /// A catalogued shard with this cache key from any run whose unit completed, newest first, or null.
    /// The caller still checks that the file exists and matches the checksum before reusing it.
    /// </summary>
    public Task<ShardRow?> FindShardAsync(string shardKey, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand($"""
                SELECT {ShardColumns} FROM shards
                WHERE shard_key = @shard_key
                ORDER BY created_at DESC LIMIT 1
                """, connection);
            command.Parameters.AddWithValue("shard_key", shardKey);
            var rows = await ReadShardsAsync(command, c);
            return rows.Count == 0 ? null : rows[0];
        }, ct);

    /// <summary>The run's metric rows, in insertion order.</summary>
    public Task<IReadOnlyList<StoredMetric>> GetMetricsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<StoredMetric>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT metric_id, run_id, unit_key, analysis, measure, model_a, site_a, model_b, site_b,
                       value, n_tokens, params::text, created_at, undefined_reason
                FROM metrics WHERE run_id = @run_id ORDER BY metric_id
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader => new StoredMetric(
                reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2),
                new MetricRow(reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6),
                    NullableString(reader, 7), NullableString(reader, 8), reader.IsDBNull(9) ? null : reader.GetDouble(9), reader.GetInt64(10),
                    reader.GetString(11), NullableString(reader, 13)),
                reader.GetFieldValue<DateTimeOffset>(12)), c);
        }, ct);

    // ---- plumbing ----

    private const string ShardColumns = "shard_key, model, site, shard_index, rows, width, dtype, uri, checksum, bytes";

    private static Task<IReadOnlyList<ShardRow>> ReadShardsAsync(NpgsqlCommand command, CancellationToken ct) =>
        ReadListAsync(command, reader => ShardFrom(reader, 0), ct);

    /// <summary>A <see cref="ShardRow"/> from the <see cref="ShardColumns"/> selected from column <paramref name="first"/> on.</summary>
    private static ShardRow ShardFrom(NpgsqlDataReader reader, int first) =>
        new(reader.GetString(first), reader.GetString(first + 1), reader.GetString(first + 2), reader.GetInt32(first + 3),
            reader.GetInt64(first + 4), reader.GetInt32(first + 5), reader.GetString(first + 6), reader.GetString(first + 7),
            reader.GetString(first + 8), reader.GetInt64(first + 9));

    private static async Task InsertShardsAsync(NpgsqlConnection connection, NpgsqlTransaction tx, long runId, string unitKey,
        IReadOnlyList<ShardRow> shards, CancellationToken ct)
    {
        await using var batch = new NpgsqlBatch(connection, tx);
        foreach (var s in shards)
        {
            var command = new NpgsqlBatchCommand("""
                INSERT INTO shards (run_id, unit_key, shard_key, model, site, shard_index, rows, width, dtype, uri, checksum, bytes)
                VALUES (@run_id, @unit_key, @shard_key, @model, @site, @shard_index, @rows, @width, @dtype, @uri, @checksum, @bytes)
                """);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("unit_key", unitKey);
            command.Parameters.AddWithValue("shard_key", s.ShardKey);
            command.Parameters.AddWithValue("model", s.Model);
            command.Parameters.AddWithValue("site", s.Site);
            command.Parameters.AddWithValue("shard_index", s.ShardIndex);
            command.Parameters.AddWithValue("rows", s.Rows);
            command.Parameters.AddWithValue("width", s.Width);
            command.Parameters.AddWithValue("dtype", s.Dtype);
            command.Parameters.AddWithValue("uri", s.Uri);
            command.Parameters.AddWithValue("checksum", s.Checksum);
            command.Parameters.AddWithValue("bytes", s.Bytes);
            batch.BatchCommands.Add(command);
        }
        await batch.ExecuteNonQueryAsync(ct);
    }

    // Binary COPY: metric sets can be large (a correlation tile per feature pair), and COPY is one round trip.
    private static async Task CopyMetricsAsync(NpgsqlConnection connection, long runId, string unitKey,
        IReadOnlyList<MetricRow> metrics, CancellationToken ct)
    {
        await using var importer = await connection.BeginBinaryImportAsync("""
            COPY metrics (run_id, unit_key, analysis, measure, model_a, site_a, model_b, site_b, value, n_tokens, params, undefined_reason)
            FROM STDIN (FORMAT BINARY)
            """, ct);
        foreach (var m in metrics)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(runId, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(unitKey, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(m.Analysis, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(m.Measure, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(m.ModelA, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(m.SiteA, NpgsqlDbType.Text, ct);
            await WriteNullableAsync(importer, m.ModelB, ct);
            await WriteNullableAsync(importer, m.SiteB, ct);
            var (value, reason) = m.Stored;
            if (value is { } v) await importer.WriteAsync(v, NpgsqlDbType.Double, ct);
            else await importer.WriteNullAsync(ct);
            await importer.WriteAsync(m.NTokens, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(string.IsNullOrWhiteSpace(m.ParamsJson) ? "{}" : m.ParamsJson, NpgsqlDbType.Jsonb, ct);
            await WriteNullableAsync(importer, reason, ct);
        }
        await importer.CompleteAsync(ct);
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter importer, string? value, CancellationToken ct)
    {
        if (value is null) await importer.WriteNullAsync(ct);
        else await importer.WriteAsync(value, NpgsqlDbType.Text, ct);
    }

    private Task RunAsync(Func<NpgsqlConnection, CancellationToken, Task> action, CancellationToken ct) =>
        RunAsync<bool>(async (connection, c) => { await action(connection, c); return true; }, ct);

    private Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> action, CancellationToken ct) =>
        ResilientAsync(async c =>
        {
            await using var connection = await _dataSource.OpenConnectionAsync(c);
            return await action(connection, c);
        }, ct);

    // Runs one unit of database work with retries. A connection-level failure that outlasts the
    // retries surfaces as one DatabaseUnavailableException line; SQL errors pass through unchanged.
    private async Task<T> ResilientAsync<T>(Func<CancellationToken, Task<T>> work, CancellationToken ct)
    {
        try
        {
            return await _retry.ExecuteAsync(async c => await work(c), ct);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException || IsConnectionRefusal((PostgresException)ex))
        {
            // A missing Unix socket reads as "Cannot assign requested address"; say what it means.
            var reason = _socketPath is not null && !File.Exists(_socketPath)
                ? $"no server socket at {_socketPath} (is the server running?)"
                : Reason(ex);
            throw new DatabaseUnavailableException($"cannot connect to PostgreSQL at {Description}: {reason}", ex);
        }
    }

    // Errors the server raises while accepting a connection: bad password, no such database or role, too many clients, starting up.
    private static bool IsConnectionRefusal(PostgresException ex) =>
        ex.SqlState.StartsWith("28", StringComparison.Ordinal) || ex.SqlState is PostgresErrorCodes.InvalidCatalogName
            or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CannotConnectNow;

    private static string Reason(Exception ex)
    {
        var innermost = ex;
        while (innermost.InnerException is not null && innermost is not PostgresException) innermost = innermost.InnerException;
        var text = innermost switch
        {
            PostgresException pg => pg.MessageText,
            SocketException socket => socket.Message,
            _ => innermost.Message,
        };
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
    }

    /// <summary>
    /// An error as stored (and shown by `sweep status` and the report): one line, without the C++ stack frames libtorch
    /// appends to its messages ("Exception raised from ... frame #0: ...").
    /// </summary>
    internal static string ErrorText(string error)
    {
        int frames = error.IndexOf("Exception raised from", StringComparison.Ordinal);
        var text = frames > 0 ? error[..frames] : error;
        return string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private static KeyNotFoundException UnknownRun(long runId) => new($"run {runId} does not exist");

    private static KeyNotFoundException UnknownUnit(long runId, string unitKey) =>
        new($"unit '{unitKey}' is not in the ledger of run {runId}");

    /// <summary>Every row the command selects, each mapped by <paramref name="row"/>, in the order the query gives.</summary>
    private static async Task<IReadOnlyList<T>> ReadListAsync<T>(NpgsqlCommand command, Func<NpgsqlDataReader, T> row, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<T>();
        while (await reader.ReadAsync(ct)) rows.Add(row(reader));
        return rows;
    }

    private static string? NullableString(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? NullableTime(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
