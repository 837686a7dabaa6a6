using Npgsql;

namespace Sweep.Integration.Tests;

/// <summary>
/// The `sweep` command on a user's mistakes: one clear line, a non-zero exit, no half-written shard,
/// and a run that started is marked failed with its reason.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class BadInputTests(ServerFixture server)
{
    private static async Task<(string Status, string? Error)> OnlyRunAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand("select status, error from runs", db);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "expected one run row");
        var result = (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
        Assert.False(await reader.ReadAsync(), "expected exactly one run row");
        return result;
    }

    private static void AssertOneLine(SweepProcess.Result result, int exitCode, string expectedFragment)
    {
        Assert.Equal(exitCode, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains(expectedFragment, line);
    }

    [Fact]
    public async Task An_invalid_job_reports_every_error_with_line_and_column_and_exits_2()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var text = File.ReadAllText(workspace.JobPath)
            .Replace("path: models/tiny-b", "path: models/missing")
            .Replace("batch_size: 4", "batch_size: four");
        File.WriteAllText(workspace.JobPath, text);
        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(result.StderrLines, l => l.StartsWith("job.yaml:11:11: ") && l.Contains("models/missing"));
        Assert.Contains(result.StderrLines, l => l.StartsWith("job.yaml:") && l.Contains("batch_size"));
        Assert.Empty(workspace.StoreFiles());

        var validate = await SweepProcess.RunAsync(workspace.Root, "validate", "job.yaml");
        Assert.Equal(2, validate.ExitCode);
        Assert.Equal(result.StderrLines, validate.StderrLines);
    }

    [Fact]
    public async Task A_corrupt_safetensors_header_fails_the_run_with_its_reason_and_leaves_no_shard_of_that_model()
    {
        using var workspace = new JobWorkspace(documents: 8);
        var weights = Path.Combine(workspace.Root, "models", "tiny-b", "model.safetensors");
        var bytes = File.ReadAllBytes(weights);
        bytes[8] = (byte)'#'; // the JSON header now starts with garbage
        File.WriteAllBytes(weights, bytes);
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        AssertOneLine(result, 1, "model.safetensors");
        var (status, error) = await OnlyRunAsync(connection);
        Assert.Equal("failed", status);
        Assert.Contains("model.safetensors", error);
        Assert.DoesNotContain(workspace.StoreFiles(), f => f.Contains("tiny-b") || f.EndsWith(".tmp"));
    }

    [Fact]
    public async Task A_tensor_of_the_wrong_shape_is_named_in_the_failure()
    {
        using var workspace = new JobWorkspace(documents: 8);
        var config = Path.Combine(workspace.Root, "models", "tiny-b", "config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("\"intermediate_size\": 128", "\"intermediate_size\": 130"));
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        AssertOneLine(result, 1, "mlp");
        Assert.Contains("130", result.Stderr);
        Assert.Equal("failed", (await OnlyRunAsync(connection)).Status);
    }

    [Fact]
    public async Task An_empty_corpus_is_one_line_naming_the_file()
    {
        using var workspace = new JobWorkspace(documents: 4);
        File.WriteAllText(Path.Combine(workspace.Root, "empty.txt"), "\n\n");
        workspace.WriteJob(corpus: "empty.txt");
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains("empty.txt", line);
        Assert.Empty(workspace.StoreFiles());
    }

    [Fact]
    public async Task An_unreachable_database_is_one_line_without_a_run()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var nowhere = Path.Combine(workspace.Root, "no-server-here");
        Directory.CreateDirectory(nowhere);

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", $"postgresql://sweep@/sweep?host={nowhere}");

        AssertOneLine(result, 1, "PostgreSQL");
        Assert.Empty(workspace.StoreFiles());
    }

    [Fact]
    public async Task A_store_that_cannot_be_written_fails_the_run_with_its_reason()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var blocker = Path.Combine(workspace.Root, "not-a-directory");
        File.WriteAllText(blocker, "a file where the store directory should go");
        workspace.WriteJob(store: "not-a-directory/store");
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        AssertOneLine(result, 1, "not writable");
        var (status, error) = await OnlyRunAsync(connection);
        Assert.Equal("failed", status);
        Assert.Contains("not writable", error);
    }
}
