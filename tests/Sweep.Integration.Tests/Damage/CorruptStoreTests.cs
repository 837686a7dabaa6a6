using Sweep.Storage.Shards;
using Xunit.Abstractions;
using static Sweep.Integration.Tests.Damage.DamageTools;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 1): a stored artefact changed on disk after it was written (a cached shard, a partial file,
/// a trained SAE) is found before it is used again, reported in one line naming it, made again, and the run stores
/// exactly the results of an undamaged run. The byte changed is picked at random; the seed is in the test output.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class CorruptStoreTests(ServerFixture server, ITestOutputHelper output)
{
    private Random Seeded(string what)
    {
        int seed = Environment.TickCount;
        output.WriteLine($"{what}: seed {seed}");
        return new Random(seed);
    }

    [Fact]
    public async Task A_random_byte_of_a_cached_shards_activations_changed_on_disk_is_captured_again_by_the_next_run_which_stores_the_same_results()
    {
        using var workspace = new JobWorkspace(documents: 16);
        var connection = await server.CreateDatabaseAsync();
        var first = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var shards = await RowsAsync(connection, "SELECT uri, checksum, model, shard_index FROM shards WHERE run_id = 1 ORDER BY uri");
        var random = Seeded("shard byte");
        var shard = shards[random.Next(shards.Count)];
        var (path, checksum) = ((string)shard[0]!, (string)shard[1]!);
        long offset = FlipActivationByte(path, random);
        output.WriteLine($"changed byte {offset} of {path}");

        var second = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal($"sweep: {path}: damaged: record batch 0 does not match its digest (the file changed after it was written); capturing it again",
            Assert.Single(second.StderrLines));
        // Only the damaged shard's capture unit ran again; the run stored exactly the first run's values.
        Assert.Contains($"{shard[2]} shard {shard[3]}\n", second.Stdout.ReplaceLineEndings("\n"));
        Assert.Equal(shards.Count / 2 - 1, second.Stdout.Split('\n').Count(l => l.StartsWith("capture ") && l.TrimEnd().EndsWith("(cached)")));
        Assert.Equal(await MetricLinesAsync(connection, 1), await MetricLinesAsync(connection, 2));
        Assert.Equal(checksum, Assert.Single(await RowsAsync(connection, $"SELECT checksum FROM shards WHERE run_id = 2 AND uri = '{path}'"))[0]);
        Assert.Equal(checksum, DenseShardFile.Verify(path));
    }

    [Fact]
    public async Task A_random_byte_of_a_done_map_units_partial_file_changed_before_a_resume_is_computed_again_with_the_same_results()
    {
        using var workspace = new JobWorkspace(documents: 24);
        workspace.WriteJob(analyses: "  - name: layer-cka\n    kind: cka\n    shards_per_unit: 1", sequencesPerShard: 4);
        var connection = await server.CreateDatabaseAsync();
        using (var run = SweepProcess.Start(workspace.Root, new Dictionary<string, string> { ["SWEEP_FAULT_UNIT_DELAY_MS"] = "1000" }, "run", "job.yaml", "--db", connection))
        {
            var seen = new List<string>();
            // Interrupted once two map units are done and no merge is: their partial files are still needed.
            await ReadUntilAsync(run, seen, _ => seen.Count(l => l.StartsWith("analysis ") && l.Contains(" map ")) >= 2);
            Assert.DoesNotContain(seen, l => l.StartsWith("analysis ") && l.Contains(" merge "));
            Send(run, "INT");
            var stopped = await SweepProcess.WaitAsync(run);
            Assert.True(stopped.ExitCode == 130, stopped.Stderr);
        }
        var maps = await RowsAsync(connection, "SELECT output_uri, description FROM units WHERE run_id = 1 AND status = 'done' AND description LIKE '% map %' ORDER BY unit_key");
        Assert.True(maps.Count >= 2, $"{maps.Count} map units done");
        var random = Seeded("partial byte");
        var chosen = maps[random.Next(maps.Count)];
        var (path, description) = ((string)chosen[0]!, (string)chosen[1]!);
        long offset = FlipByte(path, 0, new FileInfo(path).Length, random);
        output.WriteLine($"changed byte {offset} of {path}");

        var resumed = await SweepProcess.RunAsync(workspace.Root, "run", "--resume", "1", "--db", connection);

        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        var line = Assert.Single(resumed.StderrLines);
        Assert.StartsWith($"sweep: {path}: ", line);
        Assert.EndsWith($"; run 1: running {description} again", line);
        Assert.Equal(0, await RunningRowsAsync(connection, 1));
        var reference = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);
        Assert.True(reference.ExitCode == 0, reference.Stderr);
        Assert.Equal(await MetricLinesAsync(connection, 2), await MetricLinesAsync(connection, 1));
    }

    [Fact]
    public async Task A_random_byte_of_a_trained_SAEs_weights_changed_on_disk_trains_it_again_and_the_next_run_stores_the_same_results()
    {
        using var workspace = new JobWorkspace(documents: 16);
        // The SAE's statistics (sae_l0, sae_fve, ...) come from the codes it writes: they change with its weights.
        workspace.WriteJob(saes: "train_sae:\n  - name: trained\n    model: tiny-a\n    site: blocks.1.hook_resid_post\n    expansion_factor: 2\n    k: 4\n    steps: 5\n    batch_size: 32\n    warmup_steps: 1");
        var connection = await server.CreateDatabaseAsync();
        var first = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);
        Assert.True(first.ExitCode == 0, first.Stderr);
        var weights = Assert.Single(Directory.GetFiles(Path.Combine(workspace.StoreDirectory, "saes"), "sae_weights.safetensors", SearchOption.AllDirectories));
        var random = Seeded("SAE weights byte");
        // Past the 8-byte length and the JSON header: a byte of the tensors themselves.
        long dataStart = 8 + BitConverter.ToInt64(File.ReadAllBytes(weights).AsSpan(0, 8));
        long offset = FlipByte(weights, dataStart, new FileInfo(weights).Length, random);
        output.WriteLine($"changed byte {offset} of {weights}");

        var second = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.True(second.ExitCode == 0, second.Stderr);
        Assert.Equal($"sweep: {weights}: damaged: its SHA-256 is not the one recorded in sweep.sha256 when the SAE was trained; training the SAE again",
            Assert.Single(second.StderrLines));
        Assert.Equal(await MetricLinesAsync(connection, 1), await MetricLinesAsync(connection, 2));
        Assert.Contains(await MetricLinesAsync(connection, 2), l => l.StartsWith("trained | train_mse"));
    }
}
