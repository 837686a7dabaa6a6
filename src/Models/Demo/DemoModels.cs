using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sweep.Models.Tokenizers;
using Sweep.Models.Training;

namespace Sweep.Models.Demo;

/// <summary>
/// One demo model: its folder name, family, seed, and its trainable module, built by <see cref="Create"/> from
/// (vocabulary size, end-of-text id, seed) once the tokenizer is known.
/// </summary>
public sealed record DemoModelSpec(string Name, string Family, string Description, ulong Seed, Func<int, int, ulong, TrainableDecoder> Create)
{
    public TrainableDecoder Build(int vocabSize, int endOfText) => Create(vocabSize, endOfText, Seed);
}

/// <summary>Where the demo's inputs are and how hard to train.</summary>
public sealed record DemoModelsOptions
{
    /// <summary>The Brown Corpus (cats.txt and the ca01... files).</summary>
    public required string BrownDirectory { get; init; }
    /// <summary>Where the jsonl corpus is written (train.jsonl, heldout.jsonl, LICENSE).</summary>
    public required string CorpusDirectory { get; init; }
    /// <summary>Training steps per model; null: <see cref="DemoModels.Training"/>'s.</summary>
    public int? Steps { get; init; }
}

/// <summary>
/// What one model learned: training and held-out numbers, as written to training.json. An untrained twin
/// (<see cref="TwinOf"/> names its trained model) has 0 steps, no final training loss and an empty curve.
/// </summary>
public sealed record DemoModelReport(
    string Name, string Family, string Description, ulong Seed, long Parameters, int Steps, long TrainingTokens,
    double TrainingSeconds, double? FinalTrainingLoss, double HeldOutLoss, double HeldOutPerplexity,
    IReadOnlyList<double> LossCurve, bool Reused)
{
    /// <summary>For an untrained twin, the trained model whose config, tokenizer and initial weights it has; null for a trained model.</summary>
    public string? TwinOf { get; init; }
}

/// <summary>The whole demo: corpus, tokenizer, baseline and each model (what <c>sweep demo models</c> prints and writes).</summary>
public sealed record DemoModelsReport(
    string CorpusDirectory, int TrainDocuments, int HeldOutDocuments, int TrainTokens, int HeldOutTargets,
    int VocabSize, int Merges, double TokenizerSeconds, double UnigramLoss, double UnigramPerplexity,
    IReadOnlyList<DemoModelReport> Models)
{
    public const string FileName = "training.json";
}

/// <summary>What a demo model folder records about its own quality (<see cref="DemoModels.ReadEvaluation"/>).</summary>
/// <param name="Model">the model's held-out loss and perplexity, parameters and training</param>
/// <param name="Shared">what it shares with the other demo models: the held-out token count and the unigram baseline</param>
/// <param name="Source">the manifest file read</param>
public sealed record DemoModelEvaluation(DemoModelReport Model, DemoModelsReport Shared, string Source);

/// <summary>
/// The two small language models the default job (jobs.yaml) compares, trained here on the Brown Corpus:
/// <list type="number">
/// <item>the corpus: Brown as labelled jsonl with a held-out split (<see cref="DemoCorpus"/>);</item>
/// <item>one byte-level BPE tokenizer (<see cref="TokenizerMerges"/> merges) learned from the training split and
/// shared by both models, so they can be compared token by token;</item>
/// <item>a Llama-style and a GPT-2-style decoder of different widths and seeds, trained by next-token prediction
/// for a fixed number of steps (<see cref="LanguageModelTrainer"/>) and saved as ordinary HF directories;</item>
/// <item>held-out loss and perplexity of each, and of an add-one unigram baseline, in training.json;</item>
/// <item>each model's untrained twin (<see cref="UntrainedSuffix"/>): the same config, tokenizer and seeded initial
/// weights, saved before any training step, so a job can run every analysis on both and tell learning from artefact.</item>
/// </list>
/// A model folder is reused when its manifest (<see cref="ManifestFile"/>) holds the digest of everything that
/// determines it (corpus files, tokenizer size, family, shape, seed, training options, <see cref="TrainingCodeVersion"/>,
/// TorchSharp's version) and every file still has the SHA-256 the manifest records. A model is trained into a
/// temporary folder beside its final one and renamed into place, so a half-written folder is never reused.
/// </summary>
public static class DemoModels
{
    public const int TokenizerMerges = 3000;
    public const string ManifestFile = "sweep-demo.json";

    /// <summary>The folder-name suffix of a model's untrained twin: <c>llama-a-untrained</c>.</summary>
    public const string UntrainedSuffix = "-untrained";

    /// <summary>Bump when a change to the corpus conversion, tokenizer trainer or training code changes the models.</summary>
    public const int TrainingCodeVersion = 1;

    /// <summary>The training recipe of both models (the models differ in family, width and seed).</summary>
    public static LanguageModelTrainingOptions Training { get; } = new()
    {
        Steps = 1000, BatchSize = 8, SequenceLength = 128, PeakLearningRate = 3e-3, WarmupSteps = 50,
        FinalLearningRateFraction = 0.1, WeightDecay = 0.1, GradientClip = 1.0, DataSeed = 17,
    };

    /// <summary>The two models: different families, widths, depths and seeds.</summary>
    public static IReadOnlyList<DemoModelSpec> Catalog { get; } =
    [
        new("llama-a", "llama", "Llama-style: RMSNorm, rotary positions, grouped-query attention, SwiGLU; d=128, 4 layers", 1,
            (vocab, eot, seed) => new TrainableLlama(new TinyLlamaShape
            {
                VocabSize = vocab, HiddenSize = 128, IntermediateSize = 344, NumLayers = 4, NumHeads = 4, NumKeyValueHeads = 2,
                MaxPositions = 256, BosTokenId = eot, EosTokenId = eot,
            }, seed)),
        new("gpt2-b", "gpt2", "GPT-2-style: LayerNorm, learned positions, multi-head attention, GELU MLP; d=96, 3 layers", 2,
            (vocab, eot, seed) => new TrainableGpt2(new Gpt2Shape
            {
                VocabSize = vocab, HiddenSize = 96, NumLayers = 3, NumHeads = 4, MaxPositions = 256, BosTokenId = eot, EosTokenId = eot,
            }, seed)),
    ];

    /// <summary>Held-out windows evaluated per model (evenly spaced over the held-out split; 65,536 predicted tokens).</summary>
    public const int EvaluationWindows = 512;

    /// <summary>
    /// Writes (or reuses) every demo model under <paramref name="directory"/> and training.json beside them; returns
    /// the report. <paramref name="log"/> hears one line per stage and progress during training (from several threads).
    /// Models that must be trained train side by side, each on its own thread with one libtorch thread: a model's bytes
    /// then depend neither on the machine's core count nor on the other model.
    /// </summary>
    public static DemoModelsReport Write(string directory, DemoModelsOptions options, Action<string>? log = null)
    {
        var say = log ?? (_ => { });
        var training = options.Steps is int steps ? Training with { Steps = steps } : Training;

        var corpus = DemoCorpus.Write(options.BrownDirectory, options.CorpusDirectory);
        say($"corpus: {corpus.TrainDocuments} training documents ({corpus.TrainFiles} Brown files), {corpus.HeldOutDocuments} held-out ({corpus.HeldOutFiles} files), {corpus.Prompts!.Prompts} labelled prompts ({corpus.Prompts.DayPrompts} ending at a weekday) in {options.CorpusDirectory}");
        string corpusDigest = Sha256Hex(File.ReadAllBytes(corpus.TrainPath)) + Sha256Hex(File.ReadAllBytes(corpus.HeldOutPath));

        // The trained models first, then their untrained twins (the same order in training.json and the printed table).
        Directory.CreateDirectory(directory);
        var wanted = Catalog.Select(m => (Spec: m, Name: m.Name, Key: CacheKey(m, training, corpusDigest), Trained: true))
            .Concat(Catalog.Select(m => (Spec: m, Name: m.Name + UntrainedSuffix, Key: UntrainedCacheKey(m, corpusDigest), Trained: false)))
            .ToList();
        var manifests = wanted.Select(w => ReadValidManifest(Path.Combine(directory, w.Name), w.Key)).ToList();
        var reports = new DemoModelReport?[wanted.Count];
        for (int i = 0; i < wanted.Count; i++)
            if (manifests[i] is { } manifest)
            {
                say($"{wanted[i].Name}: reusing {Path.Combine(directory, wanted[i].Name)} (same corpus, tokenizer, shape, seed and training; its files match their checksums)");
                reports[i] = manifest.Model with { Reused = true };
            }

        DemoModelsReport summary;
        if (reports.All(r => r is not null))
            summary = manifests[0]!.Shared with { CorpusDirectory = options.CorpusDirectory, Models = [.. reports!] };
        else
        {
            var prepared = Prepare(corpus, training, say);
            try
            {
                // One thread per catalog model: it trains the model (when needed), then writes its twin (when needed).
                var failures = new Exception?[Catalog.Count];
                var workers = Enumerable.Range(0, Catalog.Count)
                    .Where(c => reports[c] is null || reports[Catalog.Count + c] is null).Select(c => new Thread(() =>
                    {
                        try
                        {
                            TorchSharp.torch.set_num_threads(1);
                            if (reports[c] is null) reports[c] = TrainOne(directory, Catalog[c], wanted[c].Key, prepared, training, say);
                            int twin = Catalog.Count + c;
                            if (reports[twin] is null) reports[twin] = WriteUntrained(directory, Catalog[c], wanted[twin].Key, prepared, training, say);
                        }
                        catch (Exception e) { failures[c] = e; }
                    })).ToList();
                foreach (var w in workers) w.Start();
                foreach (var w in workers) w.Join();
                if (failures.FirstOrDefault(f => f is not null) is { } failure)
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
            }
            finally
            {
                Directory.Delete(prepared.TokenizerDirectory, recursive: true);
            }
            summary = prepared.Summary(options.CorpusDirectory, [.. reports!]);
        }
        AtomicFile.WriteAllBytes(Path.Combine(directory, DemoModelsReport.FileName), JsonSerializer.SerializeToUtf8Bytes(summary, JsonOptions));
        return summary;
    }

    /// <summary>The tokenizer and both token streams, made once when some model has to be trained.</summary>
    private sealed class Prepared
    {
        public required ByteLevelBpeVocabulary Vocabulary { get; init; }
        public required string TokenizerDirectory { get; init; }
        public required TokenStream Train { get; init; }
        public required TokenStream HeldOut { get; init; }
        public required IReadOnlyList<int> EvaluationStarts { get; init; }
        public required double TokenizerSeconds { get; init; }
        public required double UnigramLoss { get; init; }
        public required int HeldOutTargets { get; init; }
        public required int TrainDocuments { get; init; }
        public required int HeldOutDocuments { get; init; }

        public DemoModelsReport Summary(string corpusDirectory, IReadOnlyList<DemoModelReport> models) =>
            new(corpusDirectory, TrainDocuments, HeldOutDocuments, Train.Tokens.Length, HeldOutTargets,
                Vocabulary.Tokens.Count, Vocabulary.Merges.Count, TokenizerSeconds, UnigramLoss, Math.Exp(UnigramLoss), models);
    }

    private static Prepared Prepare(DemoCorpusFiles corpus, LanguageModelTrainingOptions training, Action<string> log)
    {
        var trainTexts = DemoCorpus.ReadTexts(corpus.TrainPath).Select(d => d.Text).ToList();
        var heldOutTexts = DemoCorpus.ReadTexts(corpus.HeldOutPath).Select(d => d.Text).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var vocabulary = ByteLevelBpeTrainer.Train(string.Join(Gpt2ByteLevel.EndOfText, trainTexts), TokenizerMerges);
        double tokenizerSeconds = clock.Elapsed.TotalSeconds;
        var tokenizerDirectory = Directory.CreateTempSubdirectory("sweep-demo-tokenizer-").FullName;
        vocabulary.WriteTo(tokenizerDirectory);
        var tokenizer = TokenizerLoader.Load(tokenizerDirectory);
        var train = TokenStream.FromDocuments(trainTexts.Select(t => tokenizer.Encode(t, addBos: false)), vocabulary.EndOfTextId);
        var heldOut = TokenStream.FromDocuments(heldOutTexts.Select(t => tokenizer.Encode(t, addBos: false)), vocabulary.EndOfTextId);
        var starts = heldOut.EvaluationWindowStarts(training.SequenceLength, EvaluationWindows);
        var targets = heldOut.EvaluationTargets(starts, training.SequenceLength).ToList();
        double unigram = UnigramBaseline.Loss(train, targets, vocabulary.Tokens.Count);
        log($"tokenizer: {vocabulary.Merges.Count} merges, vocabulary {vocabulary.Tokens.Count}, learned in {tokenizerSeconds:F1} s ({CpuSeconds():F0} CPU-s in all); "
            + $"{train.Tokens.Length} training tokens, {targets.Count} held-out targets; unigram baseline: loss {unigram:F3}, perplexity {Math.Exp(unigram):F1}");
        return new Prepared
        {
            Vocabulary = vocabulary, TokenizerDirectory = tokenizerDirectory, Train = train, HeldOut = heldOut, EvaluationStarts = starts,
            TokenizerSeconds = tokenizerSeconds, UnigramLoss = unigram, HeldOutTargets = targets.Count,
            TrainDocuments = trainTexts.Count, HeldOutDocuments = heldOutTexts.Count,
        };
    }

    private static DemoModelReport TrainOne(string directory, DemoModelSpec spec, string key, Prepared prepared,
                                            LanguageModelTrainingOptions training, Action<string> log)
    {
        using var model = spec.Build(prepared.Vocabulary.Tokens.Count, prepared.Vocabulary.EndOfTextId);
        log($"{spec.Name}: training {spec.Description}, {model.ParameterCount:N0} parameters, {training.Steps} steps of {training.BatchSize} x {training.SequenceLength} tokens");
        int every = Math.Max(1, training.Steps / 10);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var result = LanguageModelTrainer.Train(model, prepared.Train, training, (step, loss) =>
        {
            if ((step + 1) % every == 0 || step + 1 == training.Steps)
                log($"{spec.Name}: step {step + 1}/{training.Steps}, loss {loss:F3} ({started.Elapsed.TotalSeconds:F0} s, {CpuSeconds():F0} CPU-s in all)");
        });
        double heldOut = LanguageModelTrainer.HeldOutLoss(model, prepared.HeldOut, prepared.EvaluationStarts, training.SequenceLength);
        log($"{spec.Name}: held-out loss {heldOut:F3}, perplexity {Math.Exp(heldOut):F1} (unigram {Math.Exp(prepared.UnigramLoss):F1}); trained in {result.Seconds:F0} s ({CpuSeconds():F0} CPU-s in all)");

        int window = Math.Max(1, training.Steps / 50);
        var curve = Enumerable.Range(0, (result.StepLosses.Count + window - 1) / window)
            .Select(w => result.StepLosses.Skip(w * window).Take(window).Average()).ToList();
        var report = new DemoModelReport(spec.Name, spec.Family, spec.Description, spec.Seed, model.ParameterCount, training.Steps,
            result.TokensSeen, result.Seconds, result.StepLosses[^1], heldOut, Math.Exp(heldOut), curve, Reused: false);
        SaveFolder(directory, spec.Name, key, model, report, prepared);
        return report;
    }

    /// <summary>
    /// The untrained twin of <paramref name="spec"/>: the module built from the same config and seed (so the trained
    /// model's weights before its first step), saved with the same tokenizer, and its held-out loss on the same windows.
    /// </summary>
    private static DemoModelReport WriteUntrained(string directory, DemoModelSpec spec, string key, Prepared prepared,
                                                  LanguageModelTrainingOptions training, Action<string> log)
    {
        string name = spec.Name + UntrainedSuffix;
        using var model = spec.Build(prepared.Vocabulary.Tokens.Count, prepared.Vocabulary.EndOfTextId);
        double heldOut = LanguageModelTrainer.HeldOutLoss(model, prepared.HeldOut, prepared.EvaluationStarts, training.SequenceLength);
        log($"{name}: untrained (seeded initial weights of {spec.Name}), held-out loss {heldOut:F3}, perplexity {Math.Exp(heldOut):F1} ({CpuSeconds():F0} CPU-s in all)");
        var report = new DemoModelReport(name, spec.Family, $"untrained twin of {spec.Name}: the same config, tokenizer and seeded initial weights, no training step",
            spec.Seed, model.ParameterCount, Steps: 0, TrainingTokens: 0, TrainingSeconds: 0, FinalTrainingLoss: null, heldOut, Math.Exp(heldOut), [], Reused: false)
        {
            TwinOf = spec.Name,
        };
        SaveFolder(directory, name, key, model, report, prepared);
        return report;
    }

    /// <summary>Writes the model, its tokenizer and its manifest into a temporary folder and renames it to <paramref name="name"/>.</summary>
    private static void SaveFolder(string directory, string name, string key, TrainableDecoder model, DemoModelReport report, Prepared prepared)
    {
        string final = Path.Combine(directory, name);
        string temp = Path.Combine(directory, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            Directory.CreateDirectory(temp);
            model.Save(temp);
            prepared.Vocabulary.WriteTo(temp);
            var manifest = new Manifest(key, Checksums(temp), report, prepared.Summary("", []));
            AtomicFile.WriteAllBytes(Path.Combine(temp, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(manifest, JsonOptions));
            if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
            Directory.Move(temp, final);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>What every held-out number measures (the same windows for every model and the baseline).</summary>
    public static string EvaluationDataset =>
        $"Brown Corpus held-out split (heldout.jsonl): {EvaluationWindows} windows of {Training.SequenceLength} + 1 tokens evenly spaced over its token stream";

    /// <summary>
    /// What the demo model folder <paramref name="folder"/> says it scores (its manifest), or null when it holds no
    /// readable manifest or its weights are not the ones the manifest describes (model.safetensors' SHA-256 differs).
    /// </summary>
    public static DemoModelEvaluation? ReadEvaluation(string folder)
    {
        string path = Path.Combine(folder, ManifestFile);
        try
        {
            if (!File.Exists(path)) return null;
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(path), JsonOptions);
            if (manifest?.Model is null || manifest.Shared is null || manifest.Files is null) return null;
            if (!manifest.Files.TryGetValue("model.safetensors", out var weights)
                || weights != Sha256Hex(File.ReadAllBytes(Path.Combine(folder, "model.safetensors")))) return null;
            return new DemoModelEvaluation(manifest.Model with { Reused = true }, manifest.Shared, path);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>What a trained folder records about itself: its cache key, its files' SHA-256, what it learned, and the numbers it shares with the other model (corpus, tokenizer, baseline).</summary>
    private sealed record Manifest(string Key, IReadOnlyDictionary<string, string> Files, DemoModelReport Model, DemoModelsReport Shared);

    private static Manifest? ReadValidManifest(string folder, string key)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(Path.Combine(folder, ManifestFile)), JsonOptions);
            if (manifest is null || manifest.Key != key || manifest.Files is null || manifest.Model is null || manifest.Shared is null) return null;
            var present = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Where(f => f != ManifestFile).Order(StringComparer.Ordinal);
            if (!present.SequenceEqual(manifest.Files.Keys.Order(StringComparer.Ordinal))) return null;
            return manifest.Files.All(f => Sha256Hex(File.ReadAllBytes(Path.Combine(folder, f.Key))) == f.Value) ? manifest : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>SHA-256 over everything that determines a model's bytes (no thread count: each model trains on one libtorch thread).</summary>
    private static string CacheKey(DemoModelSpec spec, LanguageModelTrainingOptions training, string corpusDigest)
    {
        using var probe = spec.Build(300, 299);   // the shape without its vocabulary, which the corpus digest and merge count fix
        var text = new StringBuilder()
            .Append("sweep demo models ").Append(TrainingCodeVersion).Append('\n')
            .Append("torchsharp ").Append(typeof(TorchSharp.torch).Assembly.GetName().Version).Append('\n')
            .Append("corpus ").Append(corpusDigest).Append('\n')
            .Append("merges ").Append(TokenizerMerges).Append('\n')
            .Append("model ").Append(spec.Name).Append(' ').Append(spec.Family).Append(" seed ").Append(spec.Seed).Append('\n')
            .Append("config ").Append(Sha256Hex(probe.ConfigJson())).Append('\n')
            .Append("training ").Append(training).Append('\n');
        return Sha256Hex(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>
    /// The untrained twin's key: everything that determines its bytes (the trained key's inputs without the training
    /// options, which it never saw; the tokenizer still comes from the corpus and merge count).
    /// </summary>
    private static string UntrainedCacheKey(DemoModelSpec spec, string corpusDigest)
    {
        using var probe = spec.Build(300, 299);
        var text = new StringBuilder()
            .Append("sweep demo models untrained ").Append(TrainingCodeVersion).Append('\n')
            .Append("torchsharp ").Append(typeof(TorchSharp.torch).Assembly.GetName().Version).Append('\n')
            .Append("corpus ").Append(corpusDigest).Append('\n')
            .Append("merges ").Append(TokenizerMerges).Append('\n')
            .Append("model ").Append(spec.Name).Append(' ').Append(spec.Family).Append(" seed ").Append(spec.Seed).Append('\n')
            .Append("config ").Append(Sha256Hex(probe.ConfigJson())).Append('\n')
            .Append("evaluation ").Append(EvaluationWindows).Append(' ').Append(Training.SequenceLength).Append('\n');
        return Sha256Hex(Encoding.UTF8.GetBytes(text.ToString()));
    }

    private static Dictionary<string, string> Checksums(string folder) =>
        Directory.EnumerateFiles(folder).Order(StringComparer.Ordinal)
            .ToDictionary(f => Path.GetFileName(f), f => Sha256Hex(File.ReadAllBytes(f)));

    private static double CpuSeconds() => System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    private static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };
}
