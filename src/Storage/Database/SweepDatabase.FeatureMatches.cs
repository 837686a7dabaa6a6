using Npgsql;
using NpgsqlTypes;

namespace Sweep.Storage.Database;

/// <summary>
/// One row of <c>feature_matches</c>: feature <paramref name="Feature"/> of the "from" side
/// (<paramref name="Direction"/> "a_to_b" or "b_to_a") and its <paramref name="Rank"/>-th best partner.
/// <paramref name="Match"/> is null for a dead feature (zero variance), whose correlation is 0.
/// </summary>
public sealed record FeatureMatchRow(
    string Analysis, string ModelA, string SiteA, string ModelB, string SiteB, string Direction,
    int Feature, int Rank, int? Match, double Correlation, bool Mutual, bool Dead);

public sealed partial class SweepDatabase
{
    public const string AToB = "a_to_b";
    public const string BToA = "b_to_a";

    /// <summary>The run's feature matches, ordered by analysis, direction, feature, rank.</summary>
    public Task<IReadOnlyList<FeatureMatchRow>> GetFeatureMatchesAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<FeatureMatchRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model_a, site_a, model_b, site_b, direction, feature, rank, match, correlation, mutual, dead
                FROM feature_matches WHERE run_id = @run_id
                ORDER BY analysis, model_a, site_a, model_b, site_b, direction, feature, rank
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadFeatureMatchesAsync(command, c);
        }, ct);

    /// <summary>Reads rows selected as <c>analysis, model_a, site_a, model_b, site_b, direction, feature, rank, match, correlation, mutual, dead</c>.</summary>
    private static Task<IReadOnlyList<FeatureMatchRow>> ReadFeatureMatchesAsync(NpgsqlCommand command, CancellationToken ct) =>
        ReadListAsync(command, reader => new FeatureMatchRow(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            reader.GetString(4), reader.GetString(5), reader.GetInt32(6), reader.GetInt32(7),
            reader.IsDBNull(8) ? null : reader.GetInt32(8), reader.GetDouble(9), reader.GetBoolean(10), reader.GetBoolean(11)), ct);

    // Binary COPY: a 32k-feature SAE pair gives 64k rows per site pair (more with top-k); COPY streams them in one round trip.
    private static async Task CopyFeatureMatchesAsync(NpgsqlConnection connection, long runId, string unitKey,
        IReadOnlyList<FeatureMatchRow> rows, CancellationToken ct)
    {
        await using var importer = await connection.BeginBinaryImportAsync("""
            COPY feature_matches (run_id, unit_key, analysis, model_a, site_a, model_b, site_b, direction, feature, rank, match, correlation, mutual, dead)
            FROM STDIN (FORMAT BINARY)
            """, ct);
        foreach (var r in rows)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(runId, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(unitKey, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.Analysis, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.ModelA, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.SiteA, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.ModelB, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.SiteB, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.Direction, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(r.Feature, NpgsqlDbType.Integer, ct);
            await importer.WriteAsync(r.Rank, NpgsqlDbType.Integer, ct);
            if (r.Match is { } m) await importer.WriteAsync(m, NpgsqlDbType.Integer, ct);
            else await importer.WriteNullAsync(ct);
            await importer.WriteAsync(r.Correlation, NpgsqlDbType.Double, ct);
            await importer.WriteAsync(r.Mutual, NpgsqlDbType.Boolean, ct);
            await importer.WriteAsync(r.Dead, NpgsqlDbType.Boolean, ct);
        }
        await importer.CompleteAsync(ct);
    }
}
