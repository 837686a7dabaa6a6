using System.Text;
using System.Text.Json;
using Sweep.Models.Demo;
using Sweep.Models.Saes;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// A project folder for concept jobs on text: labelled templated prompts (three days and a neutral baseline, shuffled,
/// some without the marker " on"), the tiny random Llama model <c>tiny-a</c> (hidden 64) with a byte-level BPE tokenizer
/// learned from the prompts, and a random SAELens SAE (64 → 96, ReLU) on its <c>blocks.1.hook_resid_post</c>.
/// </summary>
public sealed class LabelledPromptsWorkspace : IDisposable
{
    public const string Site = "blocks.1.hook_resid_post";
    public const string SaeSite = "blocks.1.hook_resid_post/sae/sae";
    public const int DSae = 96;

    public string Root { get; } = Directory.CreateTempSubdirectory("sweep-concepts-").FullName;
    public string JobPath => Path.Combine(Root, "job.yaml");
    public string ModelPath => Path.Combine(Root, "models", "tiny-a");

    /// <summary>The labels in order of first appearance in the corpus (the order the analyses keep).</summary>
    public IReadOnlyList<string> Labels { get; }

    public LabelledPromptsWorkspace(int perLabel = 20, int seed = 3)
    {
        var rng = new Random(seed);
        string[] days = ["Monday", "Tuesday", "Wednesday"];
        string[] dayTemplates = ["we meet on {0} at noon", "the market opens on {0}", "see you on {0} then", "my {0} was long", "on {0} we rest at home"];
        string[] neutral = ["we meet at noon", "the market opens early", "see you on the hill then", "my day was long", "we rest at home"];
        string[] fillers = ["", "so ", "and ", "well ", "then "];
        var prompts = days.SelectMany(d => Enumerable.Range(0, perLabel).Select(_ => (Label: d.ToLowerInvariant(), Text: string.Format(dayTemplates[rng.Next(dayTemplates.Length)], d))))
            .Concat(Enumerable.Range(0, perLabel).Select(_ => (Label: "neutral", Text: neutral[rng.Next(neutral.Length)])))
            .Select(p => (p.Label, Text: fillers[rng.Next(fillers.Length)] + p.Text))
            .OrderBy(_ => rng.Next()).ToList();
        var jsonl = new StringBuilder();
        foreach (var (label, text) in prompts) jsonl.Append(JsonSerializer.Serialize(new { text, label })).Append('\n');
        File.WriteAllText(Path.Combine(Root, "prompts.jsonl"), jsonl.ToString());
        Labels = prompts.Select(p => p.Label).Distinct().ToList();
        TinyRandomModels.Write(Path.Combine(Root, "models"), string.Join("\n", prompts.Select(p => p.Text)));
        using var sae = RandomSae(64, DSae, seed: 7);
        SaeLensWriter.Save(sae, Path.Combine(Root, "sae"));
    }

    /// <summary>The job: the corpus, tiny-a captured at <see cref="Site"/> with the SAE attached, and <paramref name="analyses"/>.</summary>
    public void WriteJob(string analyses, string store = "store", int sequencesPerShard = 10) => File.WriteAllText(JobPath, $"""
        version: 1
        name: concepts
        corpus:
          path: prompts.jsonl
          labels: [label]
          max_tokens: 24
          sequences_per_shard: {sequencesPerShard}
        models:
          - name: tiny-a
            path: models/tiny-a
        captures:
          - model: tiny-a
            sites: [{Site}]
        saes:
          - name: sae
            path: sae
            model: tiny-a
            site: {Site}
        analyses:
        {analyses}
        execution:
          device: cpu
          batch_size: 8
        output:
          store: {store}
        """);

    private static SparseAutoencoder RandomSae(int dIn, int dSae, int seed)
    {
        var random = new Random(seed);
        float[] G(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = dIn, DSae = dSae, HookName = Site, ModelName = "tiny-a",
        };
        // Slightly negative encoder biases keep the ReLU codes sparse, with most features alive on some prompts.
        return new SparseAutoencoder(config, G(dIn * dSae, 0.3), G(dSae, 0.2).Select(v => v - 0.1f).ToArray(), G(dSae * dIn, 0.2), G(dIn, 0.1));
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
