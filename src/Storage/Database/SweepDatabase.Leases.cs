using Npgsql;
using NpgsqlTypes;

namespace Sweep.Storage.Database;

/// <summary>One attempt at a unit: who ran it and how it ended (<c>unit_attempts</c>).</summary>
public sealed record UnitAttempt(
    string UnitKey, int Attempt, string Worker, string Node, string Outcome, string? Error,
    DateTimeOffset StartedAt, DateTimeOffset? FinishedAt);

/// <summary>Units of one stage by ledger status.</summary>
public sealed record StageProgress(string Stage, int Pending, int Running, int Done, int Failed, int Retries);

/// <summary>What one node did in a run: attempts by outcome.</summary>
public sealed record NodeProgress(string Node, int Running, int Done, int Retried, int Failed);

/// <summary>
/// The lease side of the ledger: attempts with their node, commits that happen once per unit however
/// often it ran, and the bookkeeping that lets an interrupted run resume.
/// </summary>
public sealed partial class SweepDatabase
{
    /// <summary>Remembers the job file a run came from, so <c>--resume</c> can find its relative paths again.</summary>
    public Task SetRunJobPathAsync(long runId, string jobPath, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("UPDATE runs SET job_path = @path WHERE run_id = @run_id", connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("path", jobPath);
            if (await command.ExecuteNonQueryAsync(c) == 0) throw UnknownRun(runId);
        }, ct);

    public Task<string?> GetRunJobPathAsync(long runId, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("SELECT job_path FROM runs WHERE run_id = @run_id", connection);
            command.Parameters.AddWithValue("run_id", runId);
            var value = await command.ExecuteScalarAsync(c);
            return value is null ? throw UnknownRun(runId) : value as string;
        }, ct);

    /// <summary>The newest run, or null when there is none.</summary>
    public Task<long?> GetLatestRunIdAsync(CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("SELECT max(run_id) FROM runs", connection);
            return await command.ExecuteScalarAsync(c) is long id ? id : (long?)null;
        }, ct);

    /// <summary>Marks a unit running on <paramref name="worker"/> of <paramref name="node"/> and opens an attempt row; returns the attempt number.</summary>
    public Task<int> StartAttemptAsync(long runId, string unitKey, string worker, string node, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using var command = new NpgsqlCommand("""
                UPDATE units SET status = 'running', attempts = attempts + 1, worker = @worker, node = @node, error = NULL, updated_at = now()
                WHERE run_id = @run_id AND unit_key = @unit_key AND status <> 'done'
                RETURNING attempts
                """, connection, tx);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("unit_key", unitKey);
            command.Parameters.AddWithValue("worker", worker);
            command.Parameters.AddWithValue("node", node);
            if (await command.ExecuteScalarAsync(c) is not int attempt) throw UnknownUnit(runId, unitKey);
            await using var insert = new NpgsqlCommand("""
                INSERT INTO unit_attempts (run_id, unit_key, attempt, worker, node) VALUES (@run_id, @unit_key, @attempt, @worker, @node)
                """, connection, tx);
            insert.Parameters.AddWithValue("run_id", runId);
            insert.Parameters.AddWithValue("unit_key", unitKey);
            insert.Parameters.AddWithValue("attempt", attempt);
            insert.Parameters.AddWithValue("worker", worker);
            insert.Parameters.AddWithValue("node", node);
            await insert.ExecuteNonQueryAsync(c);
            await tx.CommitAsync(c);
            return attempt;
        }, ct);

    /// <summary>
    /// Commits a unit's outputs unless it is already done, in one transaction: the first completion wins
    /// and later ones (a late worker whose lease had expired, a duplicate delivery) change nothing.
    /// Returns false when the unit was already committed.
    /// </summary>
    public Task<bool> CommitUnitOnceAsync(long runId, string unitKey, int attempt, UnitOutput output, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using (var update = new NpgsqlCommand("""
                UPDATE units SET status = 'done', output_uri = @output_uri, checksum = @checksum, error = NULL,
                                 commits = commits + 1, updated_at = now()
                WHERE run_id = @run_id AND unit_key = @unit_key AND status <> 'done'
                """, connection, tx))
            {
                update.Parameters.AddWithValue("run_id", runId);
                update.Parameters.AddWithValue("unit_key", unitKey);
                update.Parameters.Add(new NpgsqlParameter("output_uri", NpgsqlDbType.Text) { Value = (object?)output.OutputUri ?? DBNull.Value });
                update.Parameters.Add(new NpgsqlParameter("checksum", NpgsqlDbType.Text) { Value = (object?)output.Checksum ?? DBNull.Value });
                if (await update.ExecuteNonQueryAsync(c) == 0)
                {
                    await tx.RollbackAsync(c);
                    await EndAttemptCoreAsync(connection, null, runId, unitKey, attempt, "abandoned", "already committed by another attempt", c);
                    return false;
                }
            }
            await ReplaceOutputsAsync(connection, tx, runId, unitKey, output, c);
            await EndAttemptCoreAsync(connection, tx, runId, unitKey, attempt, "done", null, c);
            await tx.CommitAsync(c);
            return true;
        }, ct);

    /// <summary>Closes an attempt that will be retried; the unit goes back to pending unless it is done.</summary>
    public Task RetryAttemptAsync(long runId, string unitKey, int attempt, string error, CancellationToken ct = default) =>
        CloseAttemptAsync(runId, unitKey, attempt, error, unitStatus: "pending", outcome: "retried", ct);

    /// <summary>Marks a unit failed for good with its last error, closing its attempt.</summary>
    public Task FailAttemptAsync(long runId, string unitKey, int attempt, string error, CancellationToken ct = default) =>
        CloseAttemptAsync(runId, unitKey, attempt, error, unitStatus: "failed", outcome: "failed", ct);

    /// <summary>Sets a not-yet-done unit's status and error and records how its attempt ended, in one transaction.</summary>
    private Task CloseAttemptAsync(long runId, string unitKey, int attempt, string error, string unitStatus, string outcome, CancellationToken ct) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using var command = new NpgsqlCommand("""
                UPDATE units SET status = @status, error = @error, updated_at = now()
                WHERE run_id = @run_id AND unit_key = @unit_key AND status <> 'done'
                """, connection, tx);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("unit_key", unitKey);
            command.Parameters.AddWithValue("status", unitStatus);
            command.Parameters.AddWithValue("error", ErrorText(error));
            await command.ExecuteNonQueryAsync(c);
            await EndAttemptCoreAsync(connection, tx, runId, unitKey, attempt, outcome, error, c);
            await tx.CommitAsync(c);
        }, ct);

    /// <summary>
    /// Prepares an interrupted run to continue: units in <paramref name="reopen"/> (done, but whose shards
    /// no longer verify) and every unit not done go back to pending; attempts left open by the dead
    /// process are closed as abandoned. Done units keep their rows.
    /// </summary>
    public Task ReopenRunAsync(long runId, IReadOnlyCollection<string> reopen, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            await using var tx = await connection.BeginTransactionAsync(c);
            await using var command = new NpgsqlCommand("""
                UPDATE unit_attempts SET outcome = 'abandoned', error = 'the run was interrupted', finished_at = now()
                WHERE run_id = @run_id AND outcome = 'running';
                DELETE FROM shards WHERE run_id = @run_id AND unit_key = ANY(@reopen);
                DELETE FROM metrics WHERE run_id = @run_id AND unit_key = ANY(@reopen);
                UPDATE units SET status = 'pending', updated_at = now()
                WHERE run_id = @run_id AND (status <> 'done' OR unit_key = ANY(@reopen));
                """, connection, tx);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("reopen", reopen.ToArray());
            await command.ExecuteNonQueryAsync(c);
            await tx.CommitAsync(c);
        }, ct);

    public Task<IReadOnlyList<UnitAttempt>> GetAttemptsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<UnitAttempt>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT unit_key, attempt, worker, node, outcome, error, started_at, finished_at
                FROM unit_attempts WHERE run_id = @run_id ORDER BY unit_key, attempt
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader => new UnitAttempt(reader.GetString(0), reader.GetInt32(1), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), NullableString(reader, 5), reader.GetFieldValue<DateTimeOffset>(6), NullableTime(reader, 7)), c);
        }, ct);

    /// <summary>How many times each unit of the run was committed (a correct run commits each once).</summary>
    public Task<IReadOnlyDictionary<string, int>> GetCommitCountsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyDictionary<string, int>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("SELECT unit_key, commits FROM units WHERE run_id = @run_id", connection);
            command.Parameters.AddWithValue("run_id", runId);
            await using var reader = await command.ExecuteReaderAsync(c);
            var counts = new Dictionary<string, int>();
            while (await reader.ReadAsync(c)) counts[reader.GetString(0)] = reader.GetInt32(1);
            return counts;
        }, ct);

    /// <summary>The shards catalog of a run grouped by the unit that wrote each shard.</summary>
    public Task<IReadOnlyDictionary<string, IReadOnlyList<ShardRow>>> GetShardsByUnitAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyDictionary<string, IReadOnlyList<ShardRow>>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand($"SELECT unit_key, {ShardColumns} FROM shards WHERE run_id = @run_id ORDER BY unit_key", connection);
            command.Parameters.AddWithValue("run_id", runId);
            await using var reader = await command.ExecuteReaderAsync(c);
            var byUnit = new Dictionary<string, List<ShardRow>>();
            while (await reader.ReadAsync(c))
            {
                var row = ShardFrom(reader, 1);
                if (!byUnit.TryGetValue(reader.GetString(0), out var rows)) byUnit[reader.GetString(0)] = rows = new();
                rows.Add(row);
            }
            return byUnit.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<ShardRow>)kv.Value);
        }, ct);

    /// <summary>Units per stage by status, with retries (attempts beyond the first) counted.</summary>
    public Task<IReadOnlyList<StageProgress>> GetStageProgressAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<StageProgress>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT stage,
                       count(*) FILTER (WHERE status = 'pending')::int,
                       count(*) FILTER (WHERE status = 'running')::int,
                       count(*) FILTER (WHERE status = 'done')::int,
                       count(*) FILTER (WHERE status = 'failed')::int,
                       coalesce(sum(greatest(attempts - 1, 0)), 0)::int
                FROM units WHERE run_id = @run_id GROUP BY stage ORDER BY stage
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader =>
                new StageProgress(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4), reader.GetInt32(5)), c);
        }, ct);

    /// <summary>Attempts per node by outcome.</summary>
    public Task<IReadOnlyList<NodeProgress>> GetNodeProgressAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<NodeProgress>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT node,
                       count(*) FILTER (WHERE outcome = 'running')::int,
                       count(*) FILTER (WHERE outcome = 'done')::int,
                       count(*) FILTER (WHERE outcome IN ('retried', 'abandoned'))::int,
                       count(*) FILTER (WHERE outcome = 'failed')::int
                FROM unit_attempts WHERE run_id = @run_id GROUP BY node ORDER BY node
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader =>
                new NodeProgress(reader.GetString(0), reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4)), c);
        }, ct);

    private static async Task EndAttemptCoreAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, long runId, string unitKey,
        int attempt, string outcome, string? error, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE unit_attempts SET outcome = @outcome, error = @error, finished_at = now()
            WHERE run_id = @run_id AND unit_key = @unit_key AND attempt = @attempt
            """, connection, tx);
        command.Parameters.AddWithValue("run_id", runId);
        command.Parameters.AddWithValue("unit_key", unitKey);
        command.Parameters.AddWithValue("attempt", attempt);
        command.Parameters.AddWithValue("outcome", outcome);
        command.Parameters.Add(new NpgsqlParameter("error", NpgsqlDbType.Text) { Value = error is null ? DBNull.Value : ErrorText(error) });
        await command.ExecuteNonQueryAsync(ct);
    }
}
