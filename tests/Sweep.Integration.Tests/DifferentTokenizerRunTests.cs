using System.Text.Json;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Models.Checkpoints;
using Sweep.Models.Saes;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests;

/// <summary>
/// Models with different tokenizers through the real pipeline (issue 14, point 3): a copy of a demo model whose
/// vocabulary is a permutation of the original's, with its embedding rows permuted to match, is the same function of
/// the text. Fed its own ids it gives the original's activations exactly; fed the original's ids (what Sweep did
/// before) it would not.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class DifferentTokenizerRunTests(ServerFixture server)
{
    private const string Site = "blocks.2.hook_resid_post";

    [Fact]
    public async Task A_permuted_vocabulary_model_is_refused_token_by_token_and_at_prompt_level_reads_its_own_ids_and_matches_the_original()
    {
        using var workspace = new JobWorkspace(documents: 16);
        var permutation = Permute(Path.Combine(workspace.Root, "models", "tiny-b"), Path.Combine(workspace.Root, "models", "tiny-p"), seed: 5);
        var captures = $"""
              - model: tiny-b
                sites: [{Site}]
              - model: tiny-p
                sites: [{Site}]
            """;
        void Write(string analyses)
        {
            workspace.WriteJob(captures: captures, analyses: analyses);
            var text = File.ReadAllText(workspace.JobPath);
            // Every document is one sequence when tokenizers differ: room for the longest line (211 characters).
            File.WriteAllText(workspace.JobPath, text.Replace("    path: models/tiny-b\n", "    path: models/tiny-b\n  - name: tiny-p\n    path: models/tiny-p\n")
                .Replace("max_tokens: 32", "max_tokens: 256"));
        }

        Write("""
              - name: same-function
                kind: cka
            """);
        var refused = Assert.Throws<JobValidationException>(() => JobLoader.Load(workspace.JobPath));
        Assert.Contains("models 'tiny-b' and 'tiny-p' have different tokenizers", Assert.Single(refused.Errors).ToString());
        Assert.Contains("expected level: prompt", refused.Errors[0].ToString());

        Write("""
              - name: same-function
                kind: cka
                level: prompt
                reduce: mean
            """);
        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var report = await LocalRunner.RunAsync(JobLoader.Load(workspace.JobPath), database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);

        // Each model read its own ids: the permuted model's tokens are the permutation of the original's, row for row,
        // and its activations are the original's exactly.
        var shards = await database.GetShardsAsync(report.RunId);
        var original = shards.Where(s => s.Model == "tiny-b").OrderBy(s => s.ShardIndex).Select(s => DenseShardFile.Read(s.Uri)).ToList();
        var permuted = shards.Where(s => s.Model == "tiny-p").OrderBy(s => s.ShardIndex).Select(s => DenseShardFile.Read(s.Uri)).ToList();
        Assert.Equal(original.Count, permuted.Count);
        foreach (var (o, p) in original.Zip(permuted))
        {
            Assert.Equal(o.Token.Select(t => permutation[t]), p.Token);
            Assert.NotEqual(o.Token, p.Token);
            Assert.Equal(o.Act, p.Act);
        }
        var cka = Assert.Single(report.Metrics).Metric;
        Assert.Equal("cka_linear", cka.Measure);
        Assert.Equal(16, cka.NTokens);   // one row per prompt (every demo line is one document)
        Assert.Equal(1.0, cka.Value!.Value, 9);

        // Feature matching at prompt level with its defaults: one SAE (the same weights) on each model's site; the
        // permuted model's per-prompt codes equal the original's, so every live feature matches itself with r = 1.
        foreach (var (model, folder) in new[] { ("tiny-b", "sae-b"), ("tiny-p", "sae-p") })
            using (var sae = SaeEndToEndTests.RandomSae(dIn: 48, dSae: 64, hook: Site, model: model)) SaeLensWriter.Save(sae, Path.Combine(workspace.Root, folder));
        Write("""
              - name: same-features
                kind: feature_matching
                level: prompt
                reduce: mean
            """);
        File.WriteAllText(workspace.JobPath, File.ReadAllText(workspace.JobPath).Replace("analyses:\n", $"""
            saes:
              - name: sae-b
                path: sae-b
                model: tiny-b
                site: {Site}
              - name: sae-p
                path: sae-p
                model: tiny-p
                site: {Site}
            analyses:

            """));
        var matching = await LocalRunner.RunAsync(JobLoader.Load(workspace.JobPath), database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(matching.RunId))!.Status);
        var best = (await database.GetFeatureMatchesAsync(matching.RunId)).Where(m => m.Rank == 1 && m.Match is not null && !m.Dead).ToList();
        Assert.True(best.Count >= 32, $"only {best.Count} live features matched");
        Assert.All(best, m => Assert.Equal((m.Feature, 1.0), (m.Match!.Value, Math.Round(m.Correlation, 9))));
    }

    /// <summary>
    /// Copies a demo model with its vocabulary permuted (every id but the last, &lt;|endoftext|&gt;, moved by a seeded
    /// shuffle) and its embedding (and output) rows moved with their tokens; returns old id → new id.
    /// </summary>
    private static int[] Permute(string from, string to, int seed)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from)) File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(from, "vocab.json")))!;
        int n = vocab.Count;
        var moved = Enumerable.Range(0, n - 1).ToArray();
        new Random(seed).Shuffle(moved);
        var permutation = moved.Append(n - 1).ToArray();
        File.WriteAllText(Path.Combine(to, "vocab.json"), JsonSerializer.Serialize(vocab.ToDictionary(kv => kv.Key, kv => permutation[kv.Value])));

        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        using (var weights = SafeTensors.Open(Path.Combine(from, "model.safetensors")))
            foreach (var (name, entry) in weights.Entries)
            {
                var data = weights.ReadFloats(name);
                if (name is "model.embed_tokens.weight" or "lm_head.weight")
                {
                    int width = (int)entry.Shape[1];
                    var rows = new float[data.Length];
                    for (int id = 0; id < n; id++) Array.Copy(data, id * width, rows, permutation[id] * width, width);
                    data = rows;
                }
                tensors[name] = (data, entry.Shape);
            }
        SafeTensors.Write(Path.Combine(to, "model.safetensors"), tensors);
        return permutation;
    }
}
