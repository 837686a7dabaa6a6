using System.Text.Json;
using Sweep.Actors.Execution;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// The model's outputs as capturable sites, through a real job run into shards: stories260K fed its own 200 reference
/// greedy tokens (llama2.c's decoder, expected_greedy.json) as the corpus must predict, at every position, the next
/// reference token as the argmax of the stored logits; log_probs_next must be log_softmax of those logits at the next
/// token, with no row at the last position of a sequence.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class LogitCaptureTests(ServerFixture server) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-logits-job-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Stored_logits_reproduce_the_reference_greedy_tokens_and_log_probs_next_follows_from_them()
    {
        var model = Fixtures.TryGet("stories260K");
        if (model is null) return; // fixture absent outside CI

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(model, "expected_greedy.json")));
        var greedy = json.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(200, greedy.Length);
        // Two documents (two corpus shards): the whole greedy sequence, and its first 37 tokens.
        int[][] documents = [greedy, greedy[..37]];
        File.WriteAllLines(Path.Combine(_root, "corpus.jsonl"), documents.Select(d => "{\"ids\": [" + string.Join(", ", d) + "]}"));
        File.WriteAllText(Path.Combine(_root, "job.yaml"), $"""
            version: 1
            name: logits
            corpus:
              path: corpus.jsonl
              max_tokens: 256
              sequences_per_shard: 1
            models:
              - name: stories
                path: {model}
            captures:
              - model: stories
                sites: [blocks.1.hook_resid_post, logits, log_probs_next, blocks.4.hook_resid_post]
            analyses:
              - name: cka
                kind: cka
            execution:
              device: cpu
              batch_size: 2
            output:
              store: store
            """);

        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(Path.Combine(_root, "job.yaml"));
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);

        // The outputs are stored but never paired: the one CKA pair is the two residual sites.
        var cka = report.Metrics.Where(m => m.Metric.Analysis == "cka").Select(m => (m.Metric.SiteA, m.Metric.SiteB!)).Distinct().ToList();
        Assert.Equal([("blocks.1.hook_resid_post", "blocks.4.hook_resid_post")], cka);

        var shards = await database.GetShardsAsync(report.RunId);
        for (int s = 0; s < documents.Length; s++)
        {
            var ids = documents[s];
            var logitsRow = shards.Single(r => r.Site == "logits" && r.ShardIndex == s);
            var logProbsRow = shards.Single(r => r.Site == "log_probs_next" && r.ShardIndex == s);
            Assert.Equal((512, (long)ids.Length), (logitsRow.Width, logitsRow.Rows));
            Assert.Equal((1, (long)ids.Length - 1), (logProbsRow.Width, logProbsRow.Rows));

            var logits = DenseShardFile.Read(logitsRow.Uri);
            Assert.Equal(("logits", 512), (logits.Metadata.Site, logits.Metadata.Width));
            Assert.Equal(Enumerable.Range(0, ids.Length), logits.Pos);
            Assert.Equal(ids, logits.Token);
            var logProbs = DenseShardFile.Read(logProbsRow.Uri);
            Assert.Equal(Enumerable.Range(0, ids.Length - 1), logProbs.Pos);   // no row at the last position
            Assert.Equal(ids[..^1], logProbs.Token);
            Assert.All(logProbs.Seq, q => Assert.Equal(s, q));

            for (int p = 0; p + 1 < ids.Length; p++)
            {
                var row = logits.Act.AsSpan(p * 512, 512);
                int argmax = 0;
                for (int v = 1; v < 512; v++) if (row[v] > row[argmax]) argmax = v;
                Assert.True(argmax == ids[p + 1], $"sequence {s} position {p}: argmax of the stored logits is {argmax}, the reference's next token is {ids[p + 1]}");

                double max = row[argmax], sum = 0;
                foreach (var v in row) sum += Math.Exp(v - max);
                double expected = row[ids[p + 1]] - (max + Math.Log(sum));
                Assert.True(Math.Abs(logProbs.Act[p] - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)),
                    $"sequence {s} position {p}: log_probs_next {logProbs.Act[p]}, log_softmax of the stored logits {expected}");
                Assert.True(logProbs.Act[p] <= 0);
            }
        }
    }
}
