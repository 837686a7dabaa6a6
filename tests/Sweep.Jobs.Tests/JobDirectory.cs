using Sweep.Jobs.Spec;
using Sweep.Jobs.Tests.Tokenizers;
using Sweep.Models.Tokenizers;

namespace Sweep.Jobs.Tests;

/// <summary>
/// A temporary job directory: models are a minimal config.json, an empty model.safetensors (validation only
/// checks that it exists) and, optionally, tokenizer files from the byte-level BPE trainer.
/// </summary>
public sealed class JobDirectory : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("sweep-job-").FullName;

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public const int Merges = 40;

    private static readonly Lazy<ByteLevelBpeVocabulary> Vocabulary = new(() => ByteLevelBpeTrainer.Train(ByteLevelBpeTrainerTests.TrainingText, Merges));

    public static int TokenizerVocabSize => Vocabulary.Value.Tokens.Count;

    public string Model(string relative, int layers = 2, int vocabSize = 512, int maxPositions = 64, bool tokenizer = true, bool addBos = false)
    {
        var dir = Path.Combine(Root, relative);
        Directory.CreateDirectory(dir);
        System.IO.File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
            {"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": {{layers}},
             "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": {{vocabSize}}, "max_position_embeddings": {{maxPositions}}}
            """);
        System.IO.File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), []);
        if (tokenizer) Vocabulary.Value.WriteTo(dir, addBos);
        return dir;
    }

    public string File(string relative, string content)
    {
        var path = Path.Combine(Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    /// <summary>A directory with models tiny-a, tiny-b (2 layers, tokenizer) and corpus.txt, as <see cref="ValidJob"/> expects.</summary>
    public static JobDirectory Standard()
    {
        var dir = new JobDirectory();
        dir.Model("models/tiny-a");
        dir.Model("models/tiny-b");
        dir.File("corpus.txt", "Once upon a time there was a park.\n\nThe dog ran to the park on Monday.\n");
        return dir;
    }

    /// <summary><see cref="ValidJob"/> with <c>output.shard_dtype</c> set to <paramref name="value"/> (on line 25, the value at column 16).</summary>
    public static string WithShardDtype(string value) => ValidJob.Replace("  store: out/store", $"  store: out/store\n  shard_dtype: {value}");

    public const string ValidJob = """
        version: 1
        name: demo
        corpus:
          path: corpus.txt
          max_tokens: 16
          sequences_per_shard: 4
        models:
          - name: tiny-a
            path: models/tiny-a
          - name: tiny-b
            path: models/tiny-b
        captures:
          - model: tiny-a
            sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]
          - model: tiny-b
            sites: [blocks.1.hook_resid_post]
        analyses:
          - name: layer-cka
            kind: cka
        execution:
          device: cpu
          batch_size: 4
        output:
          store: out/store
        """;

    public JobSpec Parse(string yaml) => JobLoader.Parse(yaml, "jobs.yaml", Root);

    /// <summary>The error lines a job produces (fails if it is valid).</summary>
    public IReadOnlyList<string> Errors(string yaml)
    {
        var e = Xunit.Assert.Throws<JobValidationException>(() => Parse(yaml));
        return e.Errors.Select(x => x.ToString()).ToList();
    }
}
