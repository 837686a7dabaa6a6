using System.Buffers.Binary;
using System.Text;
using Npgsql;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, points 5 and 6): a corrupted safetensors header fails the run at once with one line naming the
/// file (no retries, no shard of that model); a corpus the run would refuse is reported by `sweep validate` first,
/// with the same FILE:LINE:COL lines, and by the run without anything stored.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CorruptInputTests(ServerFixture server)
{
    private static async Task<List<object?[]>> RowsAsync(string connection, string sql)
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

    public static TheoryData<string, string> HeaderDamage => new()
    {
        { "utf8", "corrupt safetensors header: not valid UTF-8 (byte " },
        { "offsets", "data_offsets [0, 9999999] span 9999999 bytes, expected " },
        { "length", "truncated safetensors file: header claims " },
    };

    /// <summary>Damages tiny-b's model.safetensors in place: a byte of a tensor name, a tensor's end offset, or the header length.</summary>
    private static string Damage(JobWorkspace workspace, string kind)
    {
        var path = Path.Combine(workspace.Root, "models", "tiny-b", "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        int headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.ASCII.GetString(bytes, 8, headerLength);
        switch (kind)
        {
            case "utf8":
                bytes[8 + header.IndexOf("embed_tokens", StringComparison.Ordinal)] = 0xC3;   // a lead byte followed by ASCII
                break;
            case "offsets":
                // Same length: the embedding's end offset becomes 9999999 (offsets beyond the data).
                var embed = header.IndexOf("\"data_offsets\":[0,", StringComparison.Ordinal) + "\"data_offsets\":[0,".Length;
                var end = header.IndexOf(']', embed);
                var replaced = header[..embed] + "9999999".PadRight(end - embed) + header[end..];
                Encoding.ASCII.GetBytes(replaced).CopyTo(bytes, 8);
                break;
            default:
                BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);   // a header longer than the file
                break;
        }
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [MemberData(nameof(HeaderDamage))]
    public async Task A_corrupted_safetensors_header_fails_the_run_at_once_naming_the_file_and_stores_nothing_of_that_model(string kind, string expected)
    {
        using var workspace = new JobWorkspace(documents: 8);
        var weights = Damage(workspace, kind);
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains($"{weights}: ", line);
        Assert.Contains(expected, line);
        var run = Assert.Single(await RowsAsync(connection, "SELECT status, error FROM runs"));
        Assert.Equal("failed", run[0]);
        Assert.Contains(weights, (string)run[1]!);
        // Malformed weights are not retried: every tiny-b capture unit that started ran once.
        var attempts = await RowsAsync(connection, "SELECT attempts FROM units WHERE stage = 'capture' AND description LIKE '%tiny-b%' AND attempts > 0");
        Assert.NotEmpty(attempts);
        Assert.All(attempts, a => Assert.Equal(1, a[0]));
        Assert.Empty(await RowsAsync(connection, "SELECT * FROM shards WHERE model = 'tiny-b'"));
        Assert.Empty(await RowsAsync(connection, "SELECT * FROM metrics WHERE model_a = 'tiny-b' OR model_b = 'tiny-b'"));
        Assert.DoesNotContain(workspace.StoreFiles(), f => f.Contains("tiny-b") || f.EndsWith(".tmp"));
    }

    [Fact]
    public async Task Validate_reports_corpus_errors_with_line_column_and_byte_offset_and_the_run_refuses_the_same_corpus()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var corpus = Path.Combine(workspace.Root, "corpus.jsonl");
        File.WriteAllBytes(corpus, [
            .. Encoding.UTF8.GetBytes("{\"text\": \"fine\"}\n{\"text\": \"caf"), 0xE9, .. Encoding.UTF8.GetBytes("\"}\n"),
            .. Encoding.UTF8.GetBytes("{\"ids\": [1, 2, 9999]}\n{\"txt\": \"typo\"}\n"),
        ]);
        workspace.WriteJob(corpus: "corpus.jsonl");

        var validate = await SweepProcess.RunAsync(workspace.Root, "validate", "job.yaml");
        Assert.Equal(2, validate.ExitCode);
        var vocabSize = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(workspace.Root, "models", "tiny-a", "config.json")))
            .RootElement.GetProperty("vocab_size").GetInt32();
        Assert.Equal(
        [
            "corpus.jsonl:2:14: invalid UTF-8 at byte offset 30 of the file (byte 0xE9), expected UTF-8 text; set corpus.invalid_utf8: replace to read such bytes as U+FFFD",
            $"corpus.jsonl:3: token id 9999 at position 2 is out of range for model 'tiny-a', expected ids below its vocab_size {vocabSize}",
            "corpus.jsonl:4:1: no \"text\" or \"ids\" field, expected a JSON object with a string \"text\" or an array \"ids\" of token ids",
        ], validate.StderrLines);
        Assert.Equal("", validate.Stdout);

        var connection = await server.CreateDatabaseAsync();
        var run = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);
        Assert.Equal(1, run.ExitCode);
        var line = Assert.Single(run.StderrLines);
        foreach (var error in validate.StderrLines) Assert.Contains(error, line);
        Assert.Equal("failed", Assert.Single(await RowsAsync(connection, "SELECT status FROM runs"))[0]);
        Assert.Empty(await RowsAsync(connection, "SELECT * FROM units"));
        Assert.Empty(workspace.StoreFiles());

        // The same corpus with replacement characters allowed and the two bad lines gone is valid.
        File.WriteAllLines(corpus, File.ReadAllLines(corpus, Encoding.Latin1).Take(2), Encoding.Latin1);
        File.WriteAllText(workspace.JobPath, File.ReadAllText(workspace.JobPath).Replace("  path: corpus.jsonl", "  path: corpus.jsonl\n  invalid_utf8: replace"));
        var replaced = await SweepProcess.RunAsync(workspace.Root, "validate", "job.yaml");
        Assert.True(replaced.ExitCode == 0, replaced.Stderr);
        Assert.EndsWith("corpus corpus.jsonl: 2 documents)", replaced.Stdout.Trim());
    }

    [Fact]
    public async Task Validate_reports_an_empty_corpus_that_it_used_to_call_valid()
    {
        using var workspace = new JobWorkspace(documents: 4);
        File.WriteAllText(Path.Combine(workspace.Root, "empty.jsonl"), "{\"ids\": []}\n\n{\"ids\": []}\n");
        workspace.WriteJob(corpus: "empty.jsonl");
        var validate = await SweepProcess.RunAsync(workspace.Root, "validate", "job.yaml");
        Assert.Equal(2, validate.ExitCode);
        Assert.Equal("empty.jsonl: the corpus is empty: no document has any tokens, expected at least one non-blank line", Assert.Single(validate.StderrLines));
    }
}
