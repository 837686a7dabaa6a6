using Npgsql;

namespace Sweep.Cluster.Tests;

/// <summary>Reads a run's ledger and results straight from PostgreSQL (what the tests compare and assert on).</summary>
public sealed class Ledger(string connectionString)
{
    public string ConnectionString { get; } = connectionString;

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        var result = await command.ExecuteScalarAsync();
        return result is DBNull or null ? default! : (T)Convert.ChangeType(result, typeof(T));
    }

    public async Task<List<(string A, string B, string C)>> RowsAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string, string)>();
        while (await reader.ReadAsync())
            rows.Add((Text(reader, 0), reader.FieldCount > 1 ? Text(reader, 1) : "", reader.FieldCount > 2 ? Text(reader, 2) : ""));
        return rows;
    }

    private static string Text(NpgsqlDataReader reader, int i) => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)!;

    public Task<long> LatestRunAsync() => ScalarAsync<long>("SELECT coalesce(max(run_id), 0) FROM runs");

    public Task<string> RunStatusAsync(long run) => ScalarAsync<string>("SELECT status FROM runs WHERE run_id = @r", ("r", run));

    public Task<long> UnitsDoneAsync(long run) => ScalarAsync<long>("SELECT count(*) FROM units WHERE run_id = @r AND status = 'done'", ("r", run));

    /// <summary>Every metric of the run by site pair; values compared bit for bit.</summary>
    public async Task<Dictionary<string, double>> MetricsAsync(long run)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT analysis, measure, model_a, site_a, model_b, site_b, value FROM metrics WHERE run_id = @r", connection);
        command.Parameters.AddWithValue("r", run);
        await using var reader = await command.ExecuteReaderAsync();
        var metrics = new Dictionary<string, double>();
        while (await reader.ReadAsync())
            metrics.Add($"{reader.GetString(0)}/{reader.GetString(1)} {reader.GetString(2)}/{reader.GetString(3)} ~ {reader.GetString(4)}/{reader.GetString(5)}", reader.GetDouble(6));
        return metrics;
    }

    /// <summary>
    /// Every row <paramref name="sql"/> selects for run @r, each as one line of its columns (doubles to the last bit,
    /// NULL as "null"), sorted: what two runs must both have stored to have stored the same.
    /// </summary>
    public async Task<List<string>> LinesAsync(string sql, long run)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("r", run);
        await using var reader = await command.ExecuteReaderAsync();
        var lines = new List<string>();
        while (await reader.ReadAsync())
            lines.Add(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null"
                : reader.GetValue(i) is double d ? d.ToString("R", System.Globalization.CultureInfo.InvariantCulture)
                : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (database errors count as not yet).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromMinutes(3));
        while (true)
        {
            try { if (await condition()) return; }
            catch (NpgsqlException) { }
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting until " + what);
            await Task.Delay(100);
        }
    }
}
