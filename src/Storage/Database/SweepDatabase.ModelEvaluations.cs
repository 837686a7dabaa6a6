using Npgsql;
using NpgsqlTypes;

namespace Sweep.Storage.Database;

/// <summary>
/// One row of <c>model_evaluations</c>: what a model of a run (role <see cref="ModelEvaluationRow.ModelRole"/>) or a
/// baseline it was compared with (<see cref="ModelEvaluationRow.BaselineRole"/>) scores on held-out text.
/// <see cref="TrainingSteps"/> 0 marks an untrained (random-weight) model; a baseline has no steps, parameters or tokens trained.
/// </summary>
public sealed record ModelEvaluationRow(
    string Role, string Model, string Description, string Dataset, double Loss, double Perplexity, long NTokens,
    long? Parameters, int? TrainingSteps, long? TrainingTokens, string Source)
{
    public const string ModelRole = "model", BaselineRole = "baseline";
}

public sealed partial class SweepDatabase
{
    /// <summary>Stores a run's model evaluations (all in one transaction; a row already stored for the run, role and model is replaced).</summary>
    public Task InsertModelEvaluationsAsync(long runId, IReadOnlyList<ModelEvaluationRow> rows, CancellationToken ct = default) =>
        RunAsync(async (connection, c) =>
        {
            if (rows.Count == 0) return;
            foreach (var row in rows)
                if (!double.IsFinite(row.Loss) || !double.IsFinite(row.Perplexity))
                    throw new ArgumentException($"model evaluation of '{row.Model}' is not finite (loss {row.Loss}, perplexity {row.Perplexity})", nameof(rows));
            await using var tx = await connection.BeginTransactionAsync(c);
            foreach (var row in rows)
            {
                await using var command = new NpgsqlCommand("""
                    INSERT INTO model_evaluations (run_id, role, model, description, dataset, loss, perplexity, n_tokens,
                                                   parameters, training_steps, training_tokens, source)
                    VALUES (@run_id, @role, @model, @description, @dataset, @loss, @perplexity, @n_tokens,
                            @parameters, @training_steps, @training_tokens, @source)
                    ON CONFLICT (run_id, role, model) DO UPDATE SET
                        description = excluded.description, dataset = excluded.dataset, loss = excluded.loss,
                        perplexity = excluded.perplexity, n_tokens = excluded.n_tokens, parameters = excluded.parameters,
                        training_steps = excluded.training_steps, training_tokens = excluded.training_tokens, source = excluded.source
                    """, connection, tx);
                command.Parameters.AddWithValue("run_id", runId);
                command.Parameters.AddWithValue("role", row.Role);
                command.Parameters.AddWithValue("model", row.Model);
                command.Parameters.AddWithValue("description", row.Description);
                command.Parameters.AddWithValue("dataset", row.Dataset);
                command.Parameters.AddWithValue("loss", row.Loss);
                command.Parameters.AddWithValue("perplexity", row.Perplexity);
                command.Parameters.AddWithValue("n_tokens", row.NTokens);
                command.Parameters.Add(new NpgsqlParameter("parameters", NpgsqlDbType.Bigint) { Value = (object?)row.Parameters ?? DBNull.Value });
                command.Parameters.Add(new NpgsqlParameter("training_steps", NpgsqlDbType.Integer) { Value = (object?)row.TrainingSteps ?? DBNull.Value });
                command.Parameters.Add(new NpgsqlParameter("training_tokens", NpgsqlDbType.Bigint) { Value = (object?)row.TrainingTokens ?? DBNull.Value });
                command.Parameters.AddWithValue("source", row.Source);
                await command.ExecuteNonQueryAsync(c);
            }
            await tx.CommitAsync(c);
        }, ct);

    /// <summary>A run's model evaluations: models first (by name), then baselines.</summary>
    public Task<IReadOnlyList<ModelEvaluationRow>> GetModelEvaluationsAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<ModelEvaluationRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT role, model, description, dataset, loss, perplexity, n_tokens, parameters, training_steps, training_tokens, source
                FROM model_evaluations WHERE run_id = @run_id
                ORDER BY role DESC, model
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            await using var reader = await command.ExecuteReaderAsync(c);
            var rows = new List<ModelEvaluationRow>();
            while (await reader.ReadAsync(c))
                rows.Add(new ModelEvaluationRow(
                    reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetDouble(4), reader.GetDouble(5),
                    reader.GetInt64(6), reader.IsDBNull(7) ? null : reader.GetInt64(7), reader.IsDBNull(8) ? null : reader.GetInt32(8),
                    reader.IsDBNull(9) ? null : reader.GetInt64(9), reader.GetString(10)));
            return rows;
        }, ct);
}
