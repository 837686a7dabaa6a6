using Sweep.Analysis.Concepts;
using Sweep.Analysis.Measures;
using Sweep.Models;

namespace Sweep.Jobs.Spec;

/// <summary>
/// A validated job, version 1. Paths are absolute (resolved against the job file's directory);
/// every default is filled in. See docs/jobs.md for the YAML that produces it.
/// </summary>
public sealed record JobSpec
{
    public const int CurrentVersion = 1;

    public required int Version { get; init; }
    public required string Name { get; init; }
    public required CorpusSpec Corpus { get; init; }
    public required IReadOnlyList<ModelSpec> Models { get; init; }
    public required IReadOnlyList<CaptureSpec> Captures { get; init; }
    public required IReadOnlyList<AnalysisSpec> Analyses { get; init; }
    public required ExecutionSpec Execution { get; init; }
    public required OutputSpec Output { get; init; }
    /// <summary>Published SAEs attached to captured sites (docs/saes.md).</summary>
    public IReadOnlyList<SaeSpec> Saes { get; init; } = [];
    /// <summary>SAEs this job trains from its own captures (docs/saes.md).</summary>
    public IReadOnlyList<TrainSaeSpec> TrainSaes { get; init; } = [];

    /// <summary>The job file as the user named it (used in error messages).</summary>
    public required string File { get; init; }

    /// <summary>The directory relative paths were resolved against (absolute).</summary>
    public required string BaseDirectory { get; init; }

    /// <summary>
    /// The YAML as read, except that a password in <c>output.database</c> is removed (<see cref="DatabasePassword"/>):
    /// this is what runs store (<c>runs.spec_yaml</c>), reports show and cluster nodes receive.
    /// </summary>
    public required string SourceText { get; init; }

    /// <summary>One "key: value" line per setting, defaults included, paths as written: comments and layout do not change it.</summary>
    public required string CanonicalText { get; init; }

    /// <summary>SHA-256 (hex) of <see cref="CanonicalText"/>.</summary>
    public required string Digest { get; init; }

    public ModelSpec Model(string name) =>
        Models.FirstOrDefault(m => m.Name == name) ?? throw new KeyNotFoundException($"job '{Name}' has no model '{name}'");

    /// <summary>The model whose tokenizer tokenizes the corpus.</summary>
    public ModelSpec TokenizerModel => Model(Corpus.Tokenizer);

    /// <summary>
    /// The model whose tokenizer files tokenize the corpus for <paramref name="model"/> (docs/jobs.md, "Tokenization"):
    /// <see cref="TokenizerModel"/> for a model without tokenizer files of its own or with the same tokenizer digest (and
    /// for every model when the corpus tokenizer has no tokenizer files: the corpus is ids, read as given),
    /// else the first model (in <see cref="Models"/> order) with the model's own tokenizer digest. Models with the same
    /// tokenizer model share one tokenization.
    /// </summary>
    public ModelSpec TokenizerModelOf(string model) => TokenizerSharing.TokenizerModelOf(Models, Corpus.Tokenizer, Model(model));

    /// <summary>Whether two models read the same token ids (one tokenization), so their sites can be compared token by token.</summary>
    public bool SharesTokenization(string a, string b) => TokenizerModelOf(a).Name == TokenizerModelOf(b).Name;

    /// <summary>The models whose tokenizers tokenize the corpus, one per tokenization; the corpus tokenizer first.</summary>
    public IReadOnlyList<ModelSpec> Tokenizations => TokenizerSharing.Tokenizations(Models, Corpus.Tokenizer);
}

/// <summary>Which models share a tokenization: by tokenizer digest, models without tokenizer files taking the corpus's.</summary>
public static class TokenizerSharing
{
    public static ModelSpec TokenizerModelOf(IReadOnlyList<ModelSpec> models, string corpusTokenizer, ModelSpec model)
    {
        var corpus = models.First(m => m.Name == corpusTokenizer);
        // A corpus tokenizer without tokenizer files means a corpus of ids, which every model reads as given.
        if (corpus.TokenizerDigest is null || model.TokenizerDigest is null || model.TokenizerDigest == corpus.TokenizerDigest) return corpus;
        return models.First(m => m.TokenizerDigest == model.TokenizerDigest);
    }

    public static IReadOnlyList<ModelSpec> Tokenizations(IReadOnlyList<ModelSpec> models, string corpusTokenizer) =>
        models.Select(m => TokenizerModelOf(models, corpusTokenizer, m)).DistinctBy(m => m.Name)
            .OrderBy(m => m.Name == corpusTokenizer ? 0 : 1).ToList();
}

public enum CorpusFormat { Txt, Jsonl }

/// <summary><c>corpus.invalid_utf8</c>: a corpus line that is not valid UTF-8 is an error (default), or read with U+FFFD replacement characters.</summary>
public enum InvalidUtf8 { Error, Replace }

public sealed record CorpusSpec
{
    public const int DefaultMaxTokens = 128;
    public const int DefaultSequencesPerShard = 64;

    /// <summary>Absolute path of the corpus file.</summary>
    public required string Path { get; init; }

    /// <summary>The path for messages: relative to the working directory when below it, else absolute.</summary>
    public required string DisplayPath { get; init; }

    public required CorpusFormat Format { get; init; }
    public int MaxTokens { get; init; } = DefaultMaxTokens;
    public int SequencesPerShard { get; init; } = DefaultSequencesPerShard;

    /// <summary>Name of the model whose tokenizer is used (the first model unless set).</summary>
    public required string Tokenizer { get; init; }

    public int? MaxDocuments { get; init; }

    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Error;

    /// <summary>The jsonl fields that label each document (<c>corpus.labels</c>), in the order written; empty: an unlabelled corpus.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];
}

public sealed record ModelSpec
{
    public required string Name { get; init; }

    /// <summary>Absolute path of the Hugging Face model directory.</summary>
    public required string Path { get; init; }

    /// <summary>config.json and the hook points, read during validation.</summary>
    public required ModelDescriptor Descriptor { get; init; }

    /// <summary>The digest of the model directory's tokenizer files (<c>TokenizerLoader.DigestOf</c>), or null when it has none.</summary>
    public string? TokenizerDigest { get; init; }
}

public sealed record CaptureSpec
{
    public required string Model { get; init; }

    /// <summary>Hook-point names, in the order written, without duplicates.</summary>
    public required IReadOnlyList<string> Sites { get; init; }
}

/// <summary>Which sites an analysis pairs: the captured hook points (dense activations) or the SAE code sites <c>{hook}/sae/{name}</c> (sparse).</summary>
public enum AnalysisSites { Dense, Sae }

/// <summary>What a row of a pair analysis is: a token (both sites read the same token ids) or a prompt (one corpus document).</summary>
public enum AnalysisLevel { Token, Prompt }

/// <summary>Which pairs of captured sites a pairwise analysis compares.</summary>
public enum SitePairs
{
    /// <summary>Every unordered pair of distinct sites.</summary>
    All,
    /// <summary>Only pairs whose sites belong to different models.</summary>
    Across,
    /// <summary>Only pairs whose sites belong to the same model.</summary>
    Within,
}

/// <summary>
/// One entry of <c>analyses</c>: its measure (found in <see cref="MeasureRegistry"/> by kind and the sites' data) and
/// the measure's own parameter record, read straight from the YAML by the measure's keys.
/// </summary>
public sealed record AnalysisSpec
{
    public required string Name { get; init; }
    public required Measure Measure { get; init; }
    public SitePairs Pairs { get; init; } = SitePairs.All;
    public AnalysisSites Sites { get; init; } = AnalysisSites.Dense;
    /// <summary><c>level</c>: rows are tokens (default) or prompts; prompts pair models whatever their tokenizers.</summary>
    public AnalysisLevel Level { get; init; } = AnalysisLevel.Token;
    /// <summary><c>reduce</c> at <c>level: prompt</c>: a prompt's last token, or the mean over its tokens with BOS excluded.</summary>
    public Reduction Reduce { get; init; } = Reduction.Last;
    public required MeasureParameters Parameters { get; init; }
    /// <summary>Corpus shards per map unit (<c>shards_per_unit</c>); null lets the planner choose from the data size.</summary>
    public int? ShardsPerUnit { get; init; }
    /// <summary>
    /// <c>sites</c> written as a list (one-site kinds only): the captured hook points, or SAE code sites, the analysis looks
    /// inside, one result per site and model; null for every site of <see cref="Sites"/>' kind.
    /// </summary>
    public IReadOnlyList<string>? SiteList { get; init; }

    /// <summary>
    /// <c>models</c>: the models whose sites the analysis looks inside, or (a kind that compares pairs) whose sites it
    /// pairs, e.g. trained models apart from their untrained twins; null for every model.
    /// </summary>
    public IReadOnlyList<string>? ModelList { get; init; }

    /// <summary>
    /// Where each key's value of the entry is in the job file (a list's items as <c>key[i]</c>), 1-based: problems found
    /// after loading (a label the corpus does not have) are reported there.
    /// </summary>
    public IReadOnlyDictionary<string, (int Line, int Column)> Marks { get; init; } = new Dictionary<string, (int, int)>();

    /// <summary>The YAML kind, e.g. <c>cka</c>.</summary>
    public string Kind => Measure.Kind;
}

public enum ActivationDtype { Float32, BFloat16, Float16 }

public sealed record ExecutionSpec
{
    /// <summary>"auto", "cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "auto";
    public ActivationDtype Dtype { get; init; } = ActivationDtype.Float32;
    public int BatchSize { get; init; } = 8;
    public int Workers { get; init; } = 1;

    public const int DefaultMaxAttempts = 3;
    public const int DefaultLeaseSeconds = 60;

    /// <summary>Tries per unit (first run plus retries) before the run fails with the unit's last error. Not part of the digest.</summary>
    public int MaxAttempts { get; init; } = DefaultMaxAttempts;

    /// <summary>Seconds a leased unit may go without a heartbeat from its worker before it is re-queued. Not part of the digest.</summary>
    public int LeaseSeconds { get; init; } = DefaultLeaseSeconds;
}

public sealed record OutputSpec
{
    public const string DefaultStore = ".sweep/store";

    /// <summary>Absolute path of the shard store directory (need not exist yet).</summary>
    public required string Store { get; init; }

    /// <summary>A PostgreSQL URL or connection string, password included when the job gives one; null means Sweep's embedded server.</summary>
    public string? Database { get; init; }

    /// <summary>How dense activation shards store <c>act</c> (<c>output.shard_dtype</c>); the 16-bit types halve the files.</summary>
    public ActivationDtype ShardDtype { get; init; } = ActivationDtype.Float32;
}

/// <summary>The YAML spellings of the spec's enums.</summary>
public static class SpecNames
{
    public static string Of(CorpusFormat f) => f switch { CorpusFormat.Txt => "txt", _ => "jsonl" };
    public static string Of(InvalidUtf8 u) => u switch { InvalidUtf8.Error => "error", _ => "replace" };
    public static string Of(AnalysisSites s) => s == AnalysisSites.Sae ? "sae" : "dense";
    public static string Of(AnalysisLevel l) => l == AnalysisLevel.Prompt ? "prompt" : "token";
    public static string Of(Reduction r) => r.ToString().ToLowerInvariant();
    public static string Of(SitePairs p) => p switch { SitePairs.Across => "across", SitePairs.Within => "within", _ => "all" };
    public static string Of(ActivationDtype d) => d switch { ActivationDtype.BFloat16 => "bfloat16", ActivationDtype.Float16 => "float16", _ => "float32" };
}

/// <summary>A published SAE folder whose codes are written for one captured site.</summary>
public sealed record SaeSpec
{
    public required string Name { get; init; }
    /// <summary>Absolute path of the SAE folder, or of its .npz/.pt/.pth file.</summary>
    public required string Path { get; init; }
    public required string Model { get; init; }
    /// <summary>The hook point it encodes; must be captured for <see cref="Model"/>.</summary>
    public required string Site { get; init; }
    /// <summary>The folder's config (and the job's settings for a bare state dict), read during validation; load it with <c>SaeLoader.Load(Folder)</c>.</summary>
    public required Sweep.Models.Saes.SaeLoader.SaeFolder Folder { get; init; }
    /// <summary>The job's <c>neuronpedia_id</c> (<c>{model}/{sae-id}</c>), overriding the folder's; null when the job sets none.</summary>
    public string? NeuronpediaId { get; init; }

    /// <summary>The SAE's Neuronpedia id for feature links: the job's, else the folder's (<c>cfg.json</c> <c>neuronpedia_id</c>), else null.</summary>
    public string? Neuronpedia => NeuronpediaId ?? (string.IsNullOrWhiteSpace(Folder.Config.NeuronpediaId) ? null : Folder.Config.NeuronpediaId);
}

/// <summary>A TopK SAE trained on one captured site's activations (stage <c>train_sae</c>), then used to encode that site.</summary>
public sealed record TrainSaeSpec
{
    public required string Name { get; init; }
    public required string Model { get; init; }
    public required string Site { get; init; }
    /// <summary>Training settings; <c>Device</c> is filled from <c>execution.device</c> at run time.</summary>
    public required Sweep.Models.Saes.Training.TopKTrainingOptions Options { get; init; }
}
