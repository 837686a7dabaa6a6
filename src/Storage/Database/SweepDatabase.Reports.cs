using Npgsql;

namespace Sweep.Storage.Database;

/// <summary>
/// Per site pair of a <c>correlation</c> or <c>feature_matching</c> analysis: how many features each side has,
/// how many are dead, how many rank-1 pairs are mutual (counted on the B side, which both kinds store), and the mean
/// best correlation of the live features.
/// </summary>
public sealed record FeatureMatchSummary(
    string Analysis, string ModelA, string SiteA, string ModelB, string SiteB,
    long FeaturesA, long FeaturesB, long DeadA, long DeadB, long MutualPairs, double? MeanBestAToB, double? MeanBestBToA);

public sealed partial class SweepDatabase
{
    /// <summary>Per analysis and site pair, the counts of its rank-1 feature matches (see <see cref="FeatureMatchSummary"/>).</summary>
    public Task<IReadOnlyList<FeatureMatchSummary>> GetFeatureMatchSummariesAsync(long runId, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<FeatureMatchSummary>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model_a, site_a, model_b, site_b,
                       count(*) FILTER (WHERE direction = 'a_to_b')                  AS features_a,
                       count(*) FILTER (WHERE direction = 'b_to_a')                  AS features_b,
                       count(*) FILTER (WHERE direction = 'a_to_b' AND dead)         AS dead_a,
                       count(*) FILTER (WHERE direction = 'b_to_a' AND dead)         AS dead_b,
                       count(*) FILTER (WHERE direction = 'b_to_a' AND mutual)       AS mutual_pairs,
                       avg(correlation) FILTER (WHERE direction = 'a_to_b' AND NOT dead) AS mean_best_a_to_b,
                       avg(correlation) FILTER (WHERE direction = 'b_to_a' AND NOT dead) AS mean_best_b_to_a
                FROM feature_matches
                WHERE run_id = @run_id AND rank = 1
                GROUP BY analysis, model_a, site_a, model_b, site_b
                ORDER BY analysis, model_a, site_a, model_b, site_b
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            return await ReadListAsync(command, reader => new FeatureMatchSummary(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                reader.GetString(3), reader.GetString(4), reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7), reader.GetInt64(8),
                reader.GetInt64(9), reader.IsDBNull(10) ? null : reader.GetDouble(10), reader.IsDBNull(11) ? null : reader.GetDouble(11)), c);
        }, ct);

    /// <summary>
    /// Per analysis and site pair, the <paramref name="limit"/> strongest live rank-1 matches (either direction),
    /// strongest first; ties broken by direction, then feature, so the list is the same on every call.
    /// </summary>
    public Task<IReadOnlyList<FeatureMatchRow>> GetTopFeatureMatchesAsync(long runId, int limit, CancellationToken ct = default) =>
        RunAsync<IReadOnlyList<FeatureMatchRow>>(async (connection, c) =>
        {
            await using var command = new NpgsqlCommand("""
                SELECT analysis, model_a, site_a, model_b, site_b, direction, feature, rank, match, correlation, mutual, dead
                FROM (
                    SELECT *, row_number() OVER (
                               PARTITION BY analysis, model_a, site_a, model_b, site_b
                               ORDER BY correlation DESC, direction, feature) AS place
                    FROM feature_matches
                    WHERE run_id = @run_id AND rank = 1 AND NOT dead
                ) ranked
                WHERE place <= @limit
                ORDER BY analysis, model_a, site_a, model_b, site_b, place
                """, connection);
            command.Parameters.AddWithValue("run_id", runId);
            command.Parameters.AddWithValue("limit", (long)limit);
            return await ReadFeatureMatchesAsync(command, c);
        }, ct);
}
