using System.Diagnostics;
using System.Runtime.InteropServices;
using Npgsql;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests.Damage;

/// <summary>What the damage tests do to stored files and to `sweep` processes, and how they read what was stored.</summary>
internal static class DamageTools
{
    public static async Task<List<object?[]>> RowsAsync(string connection, string sql)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(sql, db);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>One line per metric of run <paramref name="run"/>, every value's bits included, sorted.</summary>
    public static async Task<List<string>> MetricLinesAsync(string connection, long run) =>
        (await RowsAsync(connection, $"""
            SELECT analysis, measure, model_a, site_a, coalesce(model_b, ''), coalesce(site_b, ''), n_tokens,
                   coalesce(float8send(value)::text, undefined_reason) FROM metrics WHERE run_id = {run}
            """)).Select(r => string.Join(" | ", r)).Order(StringComparer.Ordinal).ToList();

    /// <summary>Units and attempts of run <paramref name="run"/> still marked running (a run that ended must leave none).</summary>
    public static async Task<long> RunningRowsAsync(string connection, long run) =>
        (long)(await RowsAsync(connection, $"""
            SELECT (SELECT count(*) FROM units WHERE run_id = {run} AND status = 'running')
                 + (SELECT count(*) FROM unit_attempts WHERE run_id = {run} AND outcome = 'running')
            """))[0][0]!;

    /// <summary>
    /// Changes one byte of the activations of the single-batch dense shard at <paramref name="path"/>, chosen with
    /// <paramref name="random"/> among all of them (XOR with a non-zero byte); returns its offset in the file.
    /// </summary>
    public static long FlipActivationByte(string path, Random random)
    {
        var shard = DenseShardFile.Read(path);
        Assert.True(shard.Metadata.Dtype == ShardDtype.Float32 && shard.Rows <= DenseShardFile.DefaultBatchRows, "a float32 shard of one batch");
        var bytes = File.ReadAllBytes(path);
        // The act buffer is the shard's values, contiguous: find where its first 8 values lie.
        var head = MemoryMarshal.AsBytes(shard.Act.AsSpan(0, 8));
        int start = bytes.AsSpan().IndexOf(head);
        Assert.True(start >= 0 && bytes.AsSpan(start + 1).IndexOf(head) < 0, $"{path}: the first values of act should occur once");
        Assert.True(bytes.AsSpan(start, shard.Act.Length * 4).SequenceEqual(MemoryMarshal.AsBytes(shard.Act.AsSpan())), "act is one contiguous buffer");
        long offset = start + random.NextInt64(shard.Act.Length * 4L);
        return Flip(path, bytes, offset, random);
    }

    /// <summary>Changes one byte of <paramref name="path"/> between <paramref name="from"/> and <paramref name="to"/> (exclusive), chosen with <paramref name="random"/>.</summary>
    public static long FlipByte(string path, long from, long to, Random random) =>
        Flip(path, File.ReadAllBytes(path), from + random.NextInt64(to - from), random);

    private static long Flip(string path, byte[] bytes, long offset, Random random)
    {
        bytes[offset] ^= (byte)(1 + random.Next(255));
        File.WriteAllBytes(path, bytes);
        return offset;
    }

    /// <summary>Sends <paramref name="signal"/> (INT, TERM, KILL) to <paramref name="process"/>, as `kill -SIGNAL PID` would.</summary>
    public static void Send(Process process, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>Reads stdout lines of <paramref name="process"/> into <paramref name="seen"/> until one satisfies <paramref name="until"/> (at most 2 minutes).</summary>
    public static async Task<string> ReadUntilAsync(Process process, List<string> seen, Func<string, bool> until)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            seen.Add(line);
            if (until(line)) return line;
        }
        throw new InvalidOperationException($"sweep ended before the line waited for; it printed:\n{string.Join("\n", seen)}\n{await process.StandardError.ReadToEndAsync()}");
    }
}
