using Sweep.Identity;
using Sweep.Jobs.Spec;
using Sweep.Models.Checkpoints;
using Sweep.Models.Demo;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;

namespace Sweep.Integration.Tests;

/// <summary>
/// A researcher's folder for a real <c>features</c> job with a planted feature: a corpus of short sentences about
/// animals, the two tiny models (their byte-level BPE tokenizer learned from it, so " cat" is one token), and a SAELens
/// SAE on each model's <c>blocks.0.hook_resid_pre</c> — the token embedding itself in a Llama model — where feature
/// <see cref="PlantedA"/> (of sae-a; <see cref="PlantedB"/> of sae-b) reads the " cat" embedding's direction with a
/// bias between " cat" and every other token of the vocabulary: it fires exactly on " cat", with the same activation
/// everywhere. Every other feature reads a seeded random direction with a bias that lets it fire on about 40% of the
/// vocabulary (so that no other feature fires on one token type alone, which would make it the planted feature's twin). sae-a carries a Neuronpedia id in its cfg.json; the job gives sae-b one.
/// </summary>
public sealed class PlantedFeatureJob : IDisposable
{
    public const int PlantedA = 7, PlantedB = 3, WidthA = 48, WidthB = 40;
    public const string Hook = "blocks.0.hook_resid_pre", DenseSite = "blocks.1.hook_resid_post";
    public const string NeuronpediaA = "tiny-a/0-res-planted", NeuronpediaB = "tiny-b/0-res-job";
    public static readonly string SiteA = Keys.SaeSite(Hook, "sae-a"), SiteB = Keys.SaeSite(Hook, "sae-b");

    public string Root { get; } = Directory.CreateTempSubdirectory("sweep-planted-").FullName;
    public TextTokenizer Tokenizer { get; }
    public int Cat { get; }

    public PlantedFeatureJob(int documents = 90)
    {
        var rng = new Random(5);
        string[] subjects = ["the cat", "a dog", "my bird", "the cow", "her fish", "our goat"];
        string[] verbs = ["sat on", "looked at", "ran past", "slept near", "jumped over"];
        string[] places = ["the mat", "a wall", "the barn", "my bed"];
        var lines = Enumerable.Range(0, documents).Select(d =>
            $"{subjects[rng.Next(subjects.Length)]} {verbs[rng.Next(verbs.Length)]} {places[rng.Next(places.Length)]} and {subjects[(d + 1) % subjects.Length]} {verbs[d % verbs.Length]} {subjects[rng.Next(subjects.Length)]}.").ToList();
        File.WriteAllLines(Path.Combine(Root, "corpus.txt"), lines);
        TinyRandomModels.Write(Path.Combine(Root, "models"), string.Join("\n", lines));
        Tokenizer = TokenizerLoader.Load(Path.Combine(Root, "models", "tiny-a"));
        var cat = Tokenizer.Encode(" cat", addBos: false);
        if (cat.Count != 1) throw new InvalidOperationException("the planted token ' cat' must be one token of the learned vocabulary");
        Cat = cat[0];
        WriteSae("sae-a", "tiny-a", WidthA, PlantedA, NeuronpediaA, seed: 11);
        WriteSae("sae-b", "tiny-b", WidthB, PlantedB, null, seed: 12);
    }

    public string JobPath => Path.Combine(Root, "job.yaml");

    /// <summary>Writes the job (the analyses split into a map unit per shard with <paramref name="shardsPerUnit"/>) and loads it.</summary>
    public JobSpec Job(string store, int? shardsPerUnit = null)
    {
        var split = shardsPerUnit is { } n ? $"\n    shards_per_unit: {n}" : "";
        File.WriteAllText(JobPath, $"""
            version: 1
            name: planted-features
            corpus:
              path: corpus.txt
              max_tokens: 24
              sequences_per_shard: 6
            models:
              - name: tiny-a
                path: models/tiny-a
              - name: tiny-b
                path: models/tiny-b
            captures:
              - model: tiny-a
                sites: [{Hook}, {DenseSite}]
              - model: tiny-b
                sites: [{Hook}]
            saes:
              - name: sae-a
                path: saes/sae-a
                model: tiny-a
                site: {Hook}
              - name: sae-b
                path: saes/sae-b
                model: tiny-b
                site: {Hook}
                neuronpedia_id: {NeuronpediaB}
            analyses:
              - name: feats
                kind: features
                sites: sae
                top_k: 5
                window_before: 6
                window_after: 3
                samples_per_stratum: 2
                seed: 1
                partners: 4
                co_activation_tiles: 2
                logit_tokens: 4{split}
              - name: units
                kind: features
                top_k: 3
                window_before: 4
                window_after: 2{split}
              - name: match
                kind: feature_matching
                permutations: 10
            execution:
              device: cpu
              batch_size: 4
            output:
              store: {store}
            """);
        return JobLoader.Load(JobPath);
    }

    /// <summary>The model's token embedding [vocab, d], row-major.</summary>
    public (float[] Weights, int Vocab, int D) Embedding(string model)
    {
        using var file = SafeTensors.Open(Path.Combine(Root, "models", model, "model.safetensors"));
        var entry = file.Entry("model.embed_tokens.weight");
        return (file.ReadFloats(entry.Name), (int)entry.Shape[0], (int)entry.Shape[1]);
    }

    private void WriteSae(string name, string model, int width, int planted, string? neuronpedia, int seed)
    {
        var (embedding, vocab, d) = Embedding(model);
        var rng = new Random(seed);
        var wEnc = new float[d * width];
        var bEnc = new float[width];
        double Dot(int token, double[] direction)
        {
            double s = 0;
            for (int i = 0; i < d; i++) s += embedding[token * d + i] * direction[i];
            return s;
        }
        for (int f = 0; f < width; f++)
        {
            double[] direction;
            if (f == planted)
            {
                direction = Enumerable.Range(0, d).Select(i => (double)embedding[Cat * d + i]).ToArray();
            }
            else direction = Enumerable.Range(0, d).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            double norm = Math.Sqrt(direction.Sum(v => v * v));
            for (int i = 0; i < d; i++) direction[i] /= norm;
            var projections = Enumerable.Range(0, vocab).Select(t => (Token: t, Value: Dot(t, direction))).ToList();
            double threshold;
            if (f == planted)
            {
                double own = projections[Cat].Value, other = projections.Where(p => p.Token != Cat).Max(p => p.Value);
                if (!(other < own - 1e-3)) throw new InvalidOperationException($"no bias separates ' cat' ({own}) from the other tokens ({other})");
                threshold = (own + other) / 2;
            }
            else threshold = projections.Select(p => p.Value).Order().ElementAt((int)(0.6 * vocab));
            for (int i = 0; i < d; i++) wEnc[i * width + f] = (float)direction[i];
            bEnc[f] = (float)-threshold;
        }
        var wDec = Enumerable.Range(0, width * d).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = d, DSae = width, HookName = Hook, ModelName = model,
            NeuronpediaId = neuronpedia,
        };
        using var sae = new SparseAutoencoder(config, wEnc, bEnc, wDec, new float[d]);
        SaeLensWriter.Save(sae, Path.Combine(Root, "saes", name));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
