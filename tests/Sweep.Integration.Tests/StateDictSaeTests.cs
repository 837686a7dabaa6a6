using System.Diagnostics;
using Sweep.Actors.Execution;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// A bare PyTorch state dict (written by torch.save, Debian's python3-torch) whose architecture only the job gives
/// (architecture: topk, k) runs through a real job: the capture encodes with exactly those settings.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class StateDictSaeTests(ServerFixture server) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-pt-sae-job-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_pt_state_dict_with_the_architecture_from_the_job_encodes_the_captured_site()
    {
        var model = Fixtures.TryGet("stories260K");
        if (model is null) return; // fixture absent outside CI

        // nn.Linear layout with a pre-encoder bias, as many papers' SAEs: f = TopK(encoder(x - b_dec)), x̂ = decoder(f) + b_dec.
        var pt = Path.Combine(_root, "ts-sae.pt");
        RunPython($$"""
            import torch
            torch.manual_seed(5)
            sd = {"encoder.weight": torch.randn(128, 64) * 0.2, "encoder.bias": torch.randn(128) * 0.1,
                  "decoder.weight": torch.randn(64, 128) * 0.2, "b_dec": torch.randn(64) * 0.1}
            torch.save({"state_dict": sd, "step": 1000}, "{{pt}}")
            """);
        var random = new Random(4);
        File.WriteAllLines(Path.Combine(_root, "corpus.jsonl"), Enumerable.Range(0, 6)
            .Select(_ => "{\"ids\": [" + string.Join(", ", Enumerable.Range(0, 20).Select(_ => random.Next(3, 512))) + "]}"));
        File.WriteAllText(Path.Combine(_root, "job.yaml"), $"""
            version: 1
            name: pt-sae
            corpus:
              path: corpus.jsonl
              max_tokens: 32
              sequences_per_shard: 3
            models:
              - name: stories
                path: {model}
            captures:
              - model: stories
                sites: [blocks.2.hook_resid_post]
            saes:
              - name: paper
                path: ts-sae.pt
                model: stories
                site: blocks.2.hook_resid_post
                architecture: topk
                k: 5
            execution:
              device: cpu
              batch_size: 3
            output:
              store: store
            """);

        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(Path.Combine(_root, "job.yaml"));
        Assert.Equal(new SaeJobSettings(SaeArchitecture.TopK, 5), spec.Saes.Single().Folder.Settings);
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);

        var shards = await database.GetShardsAsync(report.RunId);
        using var sae = SaeLoader.Load(SaeLoader.Describe(pt, new SaeJobSettings(SaeArchitecture.TopK, 5)));
        var sparse = shards.Where(s => s.Site == "blocks.2.hook_resid_post/sae/paper").OrderBy(s => s.ShardIndex).ToList();
        Assert.Equal(2, sparse.Count);
        foreach (var row in sparse)
        {
            var codes = SparseShardFile.Read(row.Uri);
            var dense = DenseShardFile.Read(shards.Single(s => s.Site == "blocks.2.hook_resid_post" && s.ShardIndex == row.ShardIndex).Uri);
            Assert.Equal("topk", codes.Metadata.Sae!.Architecture);
            var expected = sae.Encode(dense.Act, [dense.Rows]).Codes["codes"];
            Assert.Equal(expected.Offsets, codes.Offsets);
            Assert.Equal(expected.Indices, codes.Indices);
            Assert.Equal(expected.Values, codes.Values);
            Assert.All(Enumerable.Range(0, codes.Rows), r => Assert.Equal(5, codes.Offsets[r + 1] - codes.Offsets[r]));
        }
    }

    private static void RunPython(string script)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true, RedirectStandardInput = true };
        using var process = Process.Start(start)!;
        process.StandardInput.Write(script);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"python3 with torch failed (Debian's python3-torch: run scripts/install.sh): {stderr.Result}");
    }
}
