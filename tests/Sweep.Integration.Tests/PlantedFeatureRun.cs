using System.Text.Json;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;
using Sweep.Analysis.Measures;
using Sweep.Pipeline.Execution;
using Sweep.Jobs.Corpus;
using Sweep.Models.Tokenizers;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>
/// A run in a real database holding the features analysis of two SAE code sites of one corpus, computed by the
/// analysis code from planted codes: a real byte-level BPE tokenizer learned from the corpus, the corpus cut into
/// shards of whole sequences by <c>CorpusLoader</c>, and codes where feature <see cref="PlantedA"/> of site A (and
/// <see cref="PlantedB"/> of site B) fires exactly on the token " cat", with activation 1 + (sequence mod 7), while
/// every other feature fires as seeded noise. Also a <c>feature_matching</c> analysis whose final pairs include
/// (PlantedA, PlantedB), logit effects from seeded decoder and unembedding weights, and co-activation partners.
/// </summary>
public sealed class PlantedFeatureRun
{
    public const int PlantedA = 7, PlantedB = 3;
    public const string Model = "tiny";
    public const string SaeA = "res", SaeB = "res-b";
    public const string SiteA = "blocks.1.hook_resid_post/sae/res", SiteB = "blocks.1.hook_resid_post/sae/res-b";
    public const string NeuronpediaA = "tiny-model/1-res";
    public const string Analysis = "feats";

    public required string Connection { get; init; }
    public required long RunId { get; init; }
    public required int Width { get; init; }
    /// <summary>The planted feature's top activations as the analysis found them (strongest first).</summary>
    public required IReadOnlyList<FeatureExample> TopA { get; init; }
    public required TokenTexts Texts { get; init; }

    public static async Task<PlantedFeatureRun> CreateAsync(string connection, string folder, int width = 300, int documents = 120, bool coActivation = true, Action<string>? log = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        void Log(string what) => log?.Invoke($"{clock.Elapsed.TotalSeconds:F1} s: {what}");
        return await CreateCoreAsync(connection, folder, width, documents, coActivation, Log);
    }

    private static async Task<PlantedFeatureRun> CreateCoreAsync(string connection, string folder, int width, int documents, bool coActivation, Action<string> Log)
    {
        var rng = new Random(5);
        string[] subjects = ["the cat", "a dog", "my bird", "the cow", "her fish"];
        string[] verbs = ["sat on", "looked at", "ran past", "slept near"];
        var lines = Enumerable.Range(0, documents).Select(d =>
            $"{subjects[rng.Next(subjects.Length)]} {verbs[rng.Next(verbs.Length)]} {subjects[rng.Next(subjects.Length)]}.\n{subjects[(d + 1) % subjects.Length]} {verbs[d % verbs.Length]} the mat").ToList();
        var tokenizerDir = Path.Combine(folder, "tokenizer");
        ByteLevelBpeTrainer.TrainTo(tokenizerDir, string.Join("\n", lines), 120);
        var tokenizer = TokenizerLoader.Load(tokenizerDir);
        var corpus = CorpusLoader.Build(lines.Select((l, i) => new CorpusDocument(i + 1, l.Replace("\n", " \n "), null)).ToList(), tokenizer,
            new CorpusOptions(MaxTokens: 12, SequencesPerShard: 16), "planted.txt");
        var cat = tokenizer.Encode(" cat", addBos: false);
        if (cat.Count != 1) throw new InvalidOperationException("the planted token ' cat' must be one token of the learned vocabulary");

        Log("corpus");
        var parameters = new FeaturesParameters { TopK = 5, WindowBefore = 6, WindowAfter = 3, SamplesPerStratum = 2, Seed = 1, Partners = 4 };
        var sites = new[] { (Sae: SaeA, Site: SiteA, Planted: PlantedA, Seed: 11), (Sae: SaeB, Site: SiteB, Planted: PlantedB, Seed: 12) };
        var results = new List<(string Sae, string Site, FeatureSiteResult Summary, IReadOnlyList<CoActivationPartner> Partners)>();
        foreach (var (sae, site, planted, seed) in sites)
        {
            var blocks = Blocks(corpus, width, planted, cat[0], seed);
            // As map units would: a partial per range of 8 shards, merged.
            var summary = blocks.Chunk(8).Select(range =>
            {
                var partial = new FeatureSummary(width, parameters.TopK, parameters.Window, parameters.SamplesPerStratum, parameters.Seed);
                foreach (var block in range) partial.Fold(block);
                return partial;
            }).Aggregate((a, b) => b.Merge(a)).Finish();
            IReadOnlyList<CoActivationPartner> partners = coActivation
                ? blocks.Select(b => CoActivation.Of([b])).Aggregate((a, b) => a.Merge(b)).Finish(parameters.Partners) : [];
            results.Add((sae, site, summary, partners));
            Log($"site {sae}");
        }

        int vocab = tokenizer.VocabSize, d = 16;
        float[] Weights(int rows, int seed) { var r = new Random(seed); return Enumerable.Range(0, rows * d).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray(); }
        var logits = LogitEffects.Compute(Weights(width, 21), width, Weights(vocab, 22), vocab, d, null, k: 4);

        Log("logits");
        var texts = new TokenTexts(tokenizer);
        await using var database = await SweepDatabase.OpenAsync(connection);
        long run = await database.CreateRunAsync("planted-features", "version: 1\n", "sha256:planted", folder);
        string SiteUnit(string sae) => $"analysis/{Analysis}/{sae}";
        await database.UpsertUnitsAsync(run, [new(SiteUnit(SaeA), "analysis"), new(SiteUnit(SaeB), "analysis"),
            new($"analysis/{Analysis}/{SaeA}/logits", "analysis"), new("analysis/match", "analysis")]);
        foreach (var (sae, site, summary, partners) in results)
        {
            var rows = FeatureResultRows.Site(Analysis, Model, site, sae, sae == SaeA ? NeuronpediaA : null, parameters.Stored(SiteData.Sparse), summary, texts);
            await database.WriteFeatureResultsAsync(run, SiteUnit(sae), rows with { Coactivations = FeatureResultRows.CoActivations(Analysis, Model, site, partners).Coactivations });
        }
        await database.WriteFeatureResultsAsync(run, $"analysis/{Analysis}/{SaeA}/logits", FeatureResultRows.Logits(Analysis, Model, SiteA, logits, texts));

        Log("written");
        // feature_matching's stored result: a pairs count and its final pairs, B -> A.
        var pairs = new[] { (A: PlantedA, B: PlantedB, R: 0.97), (A: 11, B: 12, R: 0.5), (A: 20, B: 21, R: 0.25) };
        await database.StartAttemptAsync(run, "analysis/match", 1, "reducer", "local");
        await database.CommitUnitAsync(run, "analysis/match", 1, new UnitOutput(
            Metrics: [new MetricRow("match", "feature_matching_pairs", Model, SiteA, Model, SiteB, pairs.Length, corpus.TokenCount, JsonSerializer.Serialize(new { path = "sparse" }))],
            FeatureMatches: pairs.Select(p => new FeatureMatchRow("match", Model, SiteA, Model, SiteB, SweepDatabase.BToA, p.B, 1, p.A, p.R, true, false)).ToList()));
        // What the model's folder said it scores, and a baseline (no parameters or training: NULLs in every export).
        await database.InsertModelEvaluationsAsync(run, [
            new ModelEvaluationRow(ModelEvaluationRow.ModelRole, Model, "planted codes", "the planted corpus", 3.5, Math.Exp(3.5), corpus.TokenCount, 4096, 100, 409600, folder),
            new ModelEvaluationRow(ModelEvaluationRow.BaselineRole, "unigram", "unigram model", "the planted corpus", 6.0, Math.Exp(6.0), corpus.TokenCount, null, null, null, folder)]);
        await database.SetRunStatusAsync(run, RunStatus.Succeeded);

        return new PlantedFeatureRun
        {
            Connection = connection, RunId = run, Width = width, Texts = texts,
            TopA = results[0].Summary.Examples.Where(e => e.Feature == PlantedA && e.Kind == FeatureExample.Top).ToList(),
        };
    }

    /// <summary>One block of codes per corpus shard: the planted feature on every ' cat' token, seeded noise elsewhere.</summary>
    private static List<FeatureBlock> Blocks(TokenizedCorpus corpus, int width, int planted, int cat, int seed)
    {
        var rng = new Random(seed);
        var blocks = new List<FeatureBlock>();
        int first = 0;
        foreach (var shard in corpus.Shards)
        {
            var offsets = new List<int> { 0 }; var indices = new List<int>(); var values = new List<float>();
            var seq = new List<int>(); var pos = new List<int>(); var token = new List<int>();
            for (int s = 0; s < shard.Sequences.Count; s++)
                for (int p = 0; p < shard.Sequences[s].Length; p++)
                {
                    int id = shard.Sequences[s][p];
                    var row = new SortedDictionary<int, float>();
                    for (int k = 0; k < 6; k++)
                    {
                        int f = rng.Next(width);
                        if (f != planted) row[f] = MathF.Round((float)rng.NextDouble() * 0.9f + 0.05f, 3);
                    }
                    // A partner that fires with the planted feature (on ' cat') half the time.
                    if (id == cat)
                    {
                        row[planted] = 1f + (first + s) % 7;
                        if (rng.Next(2) == 0) row[(planted + 1) % width] = 0.5f;
                    }
                    foreach (var (f, v) in row) { indices.Add(f); values.Add(v); }
                    offsets.Add(indices.Count);
                    seq.Add(first + s); pos.Add(p); token.Add(id);
                }
            blocks.Add(FeatureBlock.FromSparse(new SparseRows(width, offsets.ToArray(), indices.ToArray(), values.ToArray()), seq.ToArray(), pos.ToArray(), token.ToArray()));
            first += shard.Sequences.Count;
        }
        return blocks;
    }
}
