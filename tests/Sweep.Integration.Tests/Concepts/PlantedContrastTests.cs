using System.Text;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Models.Checkpoints;
using Sweep.Models.Demo;
using Sweep.Models.Saes;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// Planted differential features through a real job: a small model whose embedding rows of each label's closing tokens
/// carry +<see cref="Offset"/> in three planted dimensions of that label (every other value seeded Gaussian noise),
/// captured at <c>hook_embed</c> with the last-token reduction, and an SAE on that site whose feature j is ReLU(x_j)
/// (and feature 64 + j ReLU(−x_j)). Each label's contrast against neutral ranks exactly its planted dimensions — and
/// on the SAE codes exactly its planted features — at the top.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PlantedContrastTests(ServerFixture server)
{
    private const int Hidden = 64, Vocab = 96, Bos = 1, FirstFiller = 30, Fillers = 30, FirstLabelToken = 60, TokensPerLabel = 6, PerLabel = 12;
    private const double Offset = 5;
    private static readonly string[] Labels = ["alpha", "beta", "gamma", "neutral"];
    private static readonly int[][] Planted = [[3, 17, 40], [8, 25, 51], [12, 33, 60], []];

    [Fact]
    public async Task A_contrast_against_neutral_ranks_exactly_the_planted_dimensions_and_SAE_features_of_each_label_at_the_top()
    {
        var root = Directory.CreateTempSubdirectory("sweep-planted-contrast-").FullName;
        try
        {
            Write(root, seed: 4);
            var connection = await server.CreateDatabaseAsync();
            await using var database = await SweepDatabase.OpenAsync(connection);
            var report = await LocalRunner.RunAsync(JobLoader.Load(Path.Combine(root, "job.yaml")), database, NoProgress.Instance, CancellationToken.None);
            var contrasts = await database.GetContrastsAsync(report.RunId, 10);

            for (int l = 0; l < 3; l++)
            {
                var dense = contrasts.Where(c => c.Analysis == "planted" && c.Label == Labels[l]).OrderBy(c => c.Rank).ToList();
                var codes = contrasts.Where(c => c.Analysis == "planted-codes" && c.Label == Labels[l]).OrderBy(c => c.Rank).ToList();
                Assert.Equal(Planted[l].Order(), dense.Select(c => c.Feature).Order());
                Assert.Equal(Planted[l].Order(), codes.Select(c => c.Feature).Order());
                foreach (var c in dense.Concat(codes))
                {
                    Assert.Equal("neutral", c.Baseline);
                    Assert.True(c.CohensD > 2 && c.Q < 0.05 && c.Difference > Offset - 2, $"{c.Analysis} {c.Label} feature {c.Feature}: d {c.CohensD}, q {c.Q}, difference {c.Difference}");
                    Assert.Equal((PerLabel, PerLabel), (c.NLabel, c.NBaseline));
                }
            }
            Assert.DoesNotContain(contrasts, c => c.Label == "neutral");
            Assert.Equal(["planted-codes/hook_embed/sae/identity", "planted/hook_embed"],
                contrasts.Select(c => $"{c.Analysis}/{c.Site}").Distinct().Order(StringComparer.Ordinal));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    /// <summary>The model, its SAE, the labelled corpus of ids and the job, under <paramref name="root"/>.</summary>
    private static void Write(string root, int seed)
    {
        var model = Path.Combine(root, "planted");
        TinyLlamaCheckpoint.Write(model, new TinyLlamaShape { VocabSize = Vocab, HiddenSize = Hidden, IntermediateSize = 96, NumLayers = 1 }, (ulong)seed);
        var rng = new Random(seed);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var path = Path.Combine(model, "model.safetensors");
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        Dictionary<string, string> metadata;
        using (var file = SafeTensors.Open(path))
        {
            foreach (var (name, entry) in file.Entries) tensors[name] = (file.ReadFloats(name), entry.Shape);
            metadata = new Dictionary<string, string>(file.Metadata);
        }
        var embed = tensors["model.embed_tokens.weight"].Data;
        for (int l = 0; l < Labels.Length; l++)
            for (int t = 0; t < TokensPerLabel; t++)
            {
                int token = FirstLabelToken + l * TokensPerLabel + t;
                for (int j = 0; j < Hidden; j++) embed[token * Hidden + j] = (float)(Gaussian() + (Planted[l].Contains(j) ? Offset : 0));
            }
        SafeTensors.Write(path, tensors, SafeTensorDtype.F32, metadata);

        // Feature j = ReLU(x_j), feature 64 + j = ReLU(−x_j): an SAE whose codes are the embedding's two halves.
        var wEnc = new float[Hidden * 2 * Hidden];
        for (int j = 0; j < Hidden; j++) { wEnc[j * 2 * Hidden + j] = 1; wEnc[j * 2 * Hidden + Hidden + j] = -1; }
        var wDec = new float[2 * Hidden * Hidden];
        for (int j = 0; j < Hidden; j++) { wDec[j * Hidden + j] = 1; wDec[(Hidden + j) * Hidden + j] = -1; }
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = Hidden, DSae = 2 * Hidden, HookName = "hook_embed", ModelName = "planted" };
        using (var sae = new SparseAutoencoder(config, wEnc, new float[2 * Hidden], wDec, new float[Hidden])) SaeLensWriter.Save(sae, Path.Combine(root, "identity"));

        var corpus = new StringBuilder();
        foreach (var (label, l) in Enumerable.Range(0, PerLabel * Labels.Length).Select(i => (Labels[i % Labels.Length], i % Labels.Length)).OrderBy(_ => rng.Next()))
        {
            var ids = new[] { Bos }.Concat(Enumerable.Range(0, 2 + rng.Next(3)).Select(_ => FirstFiller + rng.Next(Fillers))).Append(FirstLabelToken + l * TokensPerLabel + rng.Next(TokensPerLabel));
            corpus.Append($"{{\"ids\": [{string.Join(", ", ids)}], \"label\": \"{label}\"}}\n");
        }
        File.WriteAllText(Path.Combine(root, "prompts.jsonl"), corpus.ToString());
        File.WriteAllText(Path.Combine(root, "job.yaml"), """
            version: 1
            name: planted-contrast
            corpus:
              path: prompts.jsonl
              labels: [label]
              max_tokens: 8
              sequences_per_shard: 12
            models:
              - name: planted
                path: planted
            captures:
              - model: planted
                sites: [hook_embed]
            saes:
              - name: identity
                path: identity
                model: planted
                site: hook_embed
            analyses:
              - name: planted
                kind: contrast
                sites: [hook_embed]
                reduce: last
                baseline: neutral
                top_k: 3
              - name: planted-codes
                kind: contrast
                sites: sae
                reduce: last
                baseline: neutral
                top_k: 3
            execution:
              device: cpu
            output:
              store: store
            """);
    }
}
