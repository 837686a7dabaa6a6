using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Sweep.Models;
using Sweep.Models.Tokenizers;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>
/// Reads and validates a job file before any work starts. Every problem found is reported at once as a
/// <see cref="JobValidationException"/> whose errors point at the YAML line and column.
/// </summary>
public static partial class JobLoader
{
    private static readonly string[] TopKeys = ["version", "name", "corpus", "models", "captures", "analyses", "execution", "output", "saes", "train_sae"];
    private static readonly string[] CorpusKeys = ["path", "format", "max_tokens", "sequences_per_shard", "tokenizer", "max_documents", "labels", "invalid_utf8"];
    private static readonly string[] ModelKeys = ["name", "path"];
    private static readonly string[] CaptureKeys = ["model", "sites"];
    private static readonly string[] OutputKeys = ["store", "database", "shard_dtype"];

    private static readonly Dictionary<string, CorpusFormat> Formats = new() { ["txt"] = CorpusFormat.Txt, ["jsonl"] = CorpusFormat.Jsonl };
    private static readonly Dictionary<string, InvalidUtf8> Utf8Policies = new() { ["error"] = InvalidUtf8.Error, ["replace"] = InvalidUtf8.Replace };

    private const string NameExpected = "a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();


    /// <summary>Reads <paramref name="path"/>; relative paths inside resolve against its directory.</summary>
    public static JobSpec Load(string path)
    {
        if (Directory.Exists(path))
            throw new JobValidationException([new JobError(path, 0, 0, "is a directory, expected a YAML job file" + YamlFilesIn(path))]);
        if (!File.Exists(path))
            throw new JobValidationException([new JobError(path, 0, 0, "job file not found, expected a YAML job file (see docs/jobs.md)")]);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        return Parse(File.ReadAllText(path), path, baseDir);
    }

    /// <summary>Validates <paramref name="text"/>; <paramref name="fileName"/> appears in errors, <paramref name="baseDir"/> anchors relative paths.</summary>
    public static JobSpec Parse(string text, string fileName, string baseDir)
    {
        var errors = new ErrorSink(fileName);
        baseDir = Path.GetFullPath(baseDir);
        var spec = ReadDocument(text, errors) is { } root ? ReadJob(root, text, fileName, baseDir, errors) : null;
        if (errors.Errors.Count > 0 || spec is null)
            throw new JobValidationException(errors.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList());
        return spec;
    }

    private static YamlNode? ReadDocument(string text, ErrorSink errors)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            // YamlDotNet reports a tab in the indentation at the start of the enclosing mapping, often line 1: point at the tab.
            if (FirstIndentationTab(text, e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) ? int.MaxValue : (int)e.End.Line) is { } tab)
                errors.At(tab, "a tab in the indentation; YAML does not allow tabs for indentation, expected spaces");
            else
                errors.At(e.Start, $"YAML syntax error: {OneLine(e.InnerException?.Message ?? e.Message)}");
            return null;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 18's scanner throws this, without a position, on some unclosed flow collections.
            errors.At(LastParsedMark(text), "YAML syntax error: the parser stopped after this point, expected a closing ']', '}' or quote before it");
            return null;
        }
        if (stream.Documents.Count == 0 || ErrorSink.IsNull(stream.Documents[0].RootNode))
        {
            errors.Errors.Add(new JobError(errors.File, 1, 1, $"the job file is empty, expected a mapping with keys: {string.Join(", ", TopKeys)}"));
            return null;
        }
        if (stream.Documents.Count > 1)
            errors.At(stream.Documents[1].RootNode, "a second YAML document, expected one job per file");
        return stream.Documents[0].RootNode;
    }

    /// <summary>Where the first tab in a line's leading whitespace is, on line <paramref name="lastLine"/> or before; null when there is none.</summary>
    private static Mark? FirstIndentationTab(string text, int lastLine)
    {
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length && i < lastLine; i++)
        {
            int column = 0;
            while (column < lines[i].Length && lines[i][column] is ' ' or '\t')
            {
                if (lines[i][column] == '\t') return new Mark(0, i + 1, column + 1);
                column++;
            }
        }
        return null;
    }

    private static string YamlFilesIn(string directory)
    {
        var files = Directory.EnumerateFiles(directory, "*.y*ml").Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(5).ToList();
        return files.Count == 0 ? " (it holds no .yaml file)" : $" such as {Path.Combine(directory, files[0]!)} (it holds: {string.Join(", ", files)})";
    }

    private static Mark LastParsedMark(string text)
    {
        var parser = new Parser(new StringReader(text));
        var last = Mark.Empty;
        try { while (parser.MoveNext()) last = parser.Current!.End; }
        catch (Exception) { }
        return last;
    }

    private static JobSpec? ReadJob(YamlNode rootNode, string text, string fileName, string baseDir, ErrorSink errors)
    {
        if (errors.Mapping(rootNode, "", TopKeys) is not { } root) return null;

        int? version = root.Int("version", 0, $"{JobSpec.CurrentVersion}", required: true);
        if (version is { } v && v != JobSpec.CurrentVersion)
            errors.At(root["version"]!, $"version is {v}, expected {JobSpec.CurrentVersion} (the only job version this Sweep reads)");
        var name = ReadName(root, "name", errors, required: true);

        var models = root.Required("models", "a list of models ({name, path})") is { } modelsNode ? ReadModels(modelsNode, baseDir, errors) : null;
        int errorsBeforeCorpus = errors.Errors.Count;
        var corpus = root.Required("corpus", "a mapping with keys: " + string.Join(", ", CorpusKeys)) is { } corpusNode
            ? ReadCorpus(corpusNode, baseDir, models, errors) : null;
        bool corpusValid = corpus is not null && errors.Errors.Count == errorsBeforeCorpus;
        var captures = root.Required("captures", "a list of captures ({model, sites})") is { } capturesNode
            ? ReadCaptures(capturesNode, models, errors) : null;
        var execution = root["execution"] is { } executionNode ? ReadExecution(executionNode, errors) : new ExecutionSpec();
        int errorsBeforeSaes = errors.Errors.Count;
        var (saes, trainSaes) = ReadSaeSections(root, baseDir, captures, models, errors);
        // After the SAEs: an analysis with `sites: sae` pairs their code sites (not checked when the saes section has errors).
        var tokenizerModel = TokenizerModelOf(corpus, models);
        bool hasTokenizer = tokenizerModel is not null && Models.Tokenizers.TokenizerLoader.HasTokenizer(tokenizerModel.Path);
        // Which models read the same token ids (null when the models or the corpus have errors: not checked then).
        Func<string, string, bool>? sharesTokenization = corpusValid && models is { Complete: true }
            ? (x, y) => TokenizerSharing.TokenizerModelOf(models.Valid, corpus!.Tokenizer, models.Find(x)!).Name
                        == TokenizerSharing.TokenizerModelOf(models.Valid, corpus!.Tokenizer, models.Find(y)!).Name
            : null;
        var analyses = root["analyses"] is { } analysesNode
            ? ReadAnalyses(analysesNode, captures, errors.Errors.Count == errorsBeforeSaes ? (saes, trainSaes) : null,
                tokenizerModel is not null && !hasTokenizer ? tokenizerModel.Name : null,
                corpus is not null && tokenizerModel is not null ? new Analysis.Measures.CorpusFacts(corpus.Labels, tokenizerModel.Name, hasTokenizer) : null,
                sharesTokenization, errors) : [];
        var output = root["output"] is { } outputNode ? ReadOutput(outputNode, baseDir, errors)
            : new OutputSpec { Store = Path.GetFullPath(Path.Combine(baseDir, OutputSpec.DefaultStore)) };

        if (version is null || name is null || models is not { Complete: true } || corpus is null || captures is null
            || analyses is null || execution is null || output is null || errors.Errors.Count > 0)
            return null;

        var canonical = CanonicalText(version.Value, name, corpus, models.Valid, captures, analyses, execution, output, baseDir)
            + SaeCanonicalText(saes, trainSaes, baseDir);
        return new JobSpec
        {
            Version = version.Value, Name = name, Corpus = corpus, Models = models.Valid, Captures = captures, Analyses = analyses,
            Execution = execution, Output = output, Saes = saes, TrainSaes = trainSaes, File = fileName, BaseDirectory = baseDir,
            SourceText = WithoutDatabasePassword(text, root["output"]),
            CanonicalText = canonical, Digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))),
        };
    }

    /// <summary><paramref name="text"/> with the password of <c>output.database</c> removed (the value rewritten as a quoted string).</summary>
    private static string WithoutDatabasePassword(string text, YamlNode? output)
    {
        if (output is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode("database"), out var node)
            || node is not YamlScalarNode { Value: { } value } || !DatabasePassword.IsIn(value))
            return text;
        // A JSON string is a valid YAML double-quoted scalar (escaping only quotes, backslashes and control characters).
        var quoted = System.Text.Json.JsonSerializer.Serialize(DatabasePassword.Remove(value),
            new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        return text[..(int)node.Start.Index] + quoted + text[(int)node.End.Index..];
    }

    private static ModelSpec? TokenizerModelOf(CorpusSpec? corpus, ModelTable? models) =>
        corpus is null || models is null ? null : models.Valid.FirstOrDefault(m => m.Name == corpus.Tokenizer);

    private static string? ReadName(YamlSection section, string key, ErrorSink errors, bool required)
    {
        var name = section.String(key, NameExpected, required);
        if (name is null || NamePattern().IsMatch(name)) return name;
        errors.At(section[key]!, $"{section.KeyPath(key)} '{name}' is not a valid name, expected {NameExpected}");
        return null;
    }

    /// <summary>The models read so far: the valid ones, and every name declared (so later sections skip, not repeat, a broken model's errors).</summary>
    private sealed record ModelTable(List<ModelSpec> Valid, List<string> Declared, bool Complete)
    {
        public ModelSpec? Find(string name) => Valid.FirstOrDefault(m => m.Name == name);
    }

    private static ModelTable? ReadModels(YamlNode node, string baseDir, ErrorSink errors)
    {
        if (errors.List(node, "models", "models ({name, path})") is not { } items) return null;
        var models = new List<ModelSpec>();
        var seen = new Dictionary<string, YamlNode>();
        bool ok = true;
        for (int i = 0; i < items.Count; i++)
        {
            var path = $"models[{i}]";
            if (errors.Mapping(items[i], path, ModelKeys) is not { } m) { ok = false; continue; }
            var name = ReadName(m, "name", errors, required: true);
            if (name is not null && seen.TryGetValue(name, out var first))
            {
                errors.At(m["name"]!, $"{path}.name '{name}' is already used at line {first.Start.Line}, expected unique model names");
                name = null;
            }
            else if (name is not null) seen[name] = m["name"]!;

            var dir = m.String("path", "the path of a Hugging Face model directory (config.json + model.safetensors)", required: true);
            ModelDescriptor? descriptor = null;
            if (dir is not null)
            {
                var full = Resolve(baseDir, dir);
                if (!Directory.Exists(full))
                    errors.At(m["path"]!, $"{path}.path '{dir}' is not a directory, expected a Hugging Face model directory (config.json + model.safetensors)");
                else
                    try { descriptor = ModelDescriptor.Read(full); }
                    catch (ModelLoadException e) { errors.At(m["path"]!, $"{path}.path: {OneLine(e.Message)}"); }
            }
            if (name is null || descriptor is null) { ok = false; continue; }
            string? tokenizerDigest;
            try { tokenizerDigest = TokenizerLoader.DigestOf(descriptor.Directory); }
            catch (Exception e) when (e is ModelLoadException or IOException or UnauthorizedAccessException)
            {
                errors.At(m["path"]!, $"{path}.path: the tokenizer files cannot be read: {OneLine(e.Message)}");
                ok = false;
                continue;
            }
            models.Add(new ModelSpec { Name = name, Path = descriptor.Directory, Descriptor = descriptor, TokenizerDigest = tokenizerDigest });
        }
        return new ModelTable(models, seen.Keys.ToList(), ok);
    }

    private static CorpusSpec? ReadCorpus(YamlNode node, string baseDir, ModelTable? models, ErrorSink errors)
    {
        if (errors.Mapping(node, "corpus", CorpusKeys) is not { } c) return null;
        bool ok = true;

        var raw = c.String("path", "the path of the corpus file (.txt or .jsonl)", required: true);
        string? full = raw is null ? null : Resolve(baseDir, raw);
        if (raw is not null && !File.Exists(full))
        {
            errors.At(c["path"]!, $"corpus.path '{raw}' is not a file, expected the path of the corpus file (.txt or .jsonl) relative to the job file");
            ok = false;
        }

        var format = c.Choice("format", Formats);
        if (c["format"] is not null && format is null) ok = false;
        var invalidUtf8 = c.Choice("invalid_utf8", Utf8Policies);
        if (c["invalid_utf8"] is not null && invalidUtf8 is null) ok = false;
        if (format is null && raw is not null && c["format"] is null)
        {
            format = Path.GetExtension(raw).ToLowerInvariant() switch { ".txt" => CorpusFormat.Txt, ".jsonl" => CorpusFormat.Jsonl, _ => null };
            if (format is null)
            {
                errors.At(c["path"]!, $"corpus.path '{raw}': cannot tell the format from the extension, expected a .txt or .jsonl file or corpus.format: txt|jsonl");
                ok = false;
            }
        }

        int? maxTokens = c.Int("max_tokens", 1, "a positive integer (tokens per sequence)");
        var maxTokensNode = maxTokens is null ? null : c["max_tokens"];
        int? perShard = c.Int("sequences_per_shard", 1, "a positive integer (sequences per shard)");
        int? maxDocs = c.Int("max_documents", 1, "a positive integer (documents to read at most)");
        if ((c["max_tokens"] is not null && maxTokens is null) || (c["sequences_per_shard"] is not null && perShard is null)
            || (c["max_documents"] is not null && maxDocs is null))
            ok = false;
        maxTokens ??= CorpusSpec.DefaultMaxTokens;

        string? tokenizer = null;
        if (c["tokenizer"] is not null)
        {
            tokenizer = c.String("tokenizer", "the name of a model whose tokenizer files tokenize the corpus");
            if (tokenizer is not null && models is not null && !models.Declared.Contains(tokenizer))
            {
                errors.At(c["tokenizer"]!, $"corpus.tokenizer '{tokenizer}' is not a model of this job, expected one of: {string.Join(", ", models.Declared)}{Hint(tokenizer, models.Declared)}");
                tokenizer = null;
            }
        }
        else if (models is { Valid.Count: > 0 }) tokenizer = models.Valid[0].Name;

        if (tokenizer is not null && models?.Find(tokenizer) is { } model)
        {
            if (TokenizerLoader.HasTokenizer(model.Path))
                try { TokenizerLoader.Load(model.Path); }
                catch (ModelLoadException e) { errors.At(c["tokenizer"] ?? c.Node, $"corpus: the tokenizer of model '{tokenizer}' cannot be loaded: {OneLine(e.Message)}"); }
            else if (format == CorpusFormat.Txt)
                errors.At(c["tokenizer"] ?? c.Node, $"corpus: model '{tokenizer}' has no tokenizer files in {model.Path}, expected tokenizer.model, vocab.json + merges.txt, tokenizer.json or ENCODING.tiktoken (or set corpus.tokenizer to a model that has them)");
        }

        var labels = ReadCorpusLabels(c, format, errors);
        if (labels is null) ok = false;

        if (models is not null && maxTokensNode is { } maxNode)
            foreach (var m in models.Valid.Where(m => maxTokens > m.Descriptor.Config.MaxPositions))
                errors.At(maxNode, $"corpus.max_tokens is {maxTokens}, expected at most {m.Descriptor.Config.MaxPositions} (max_position_embeddings of model '{m.Name}')");

        if (!ok || full is null || format is null || tokenizer is null || models?.Find(tokenizer) is null) return null;
        return new CorpusSpec
        {
            Path = full, DisplayPath = DisplayPath(full), Format = format.Value, MaxTokens = maxTokens.Value,
            SequencesPerShard = perShard ?? CorpusSpec.DefaultSequencesPerShard, Tokenizer = tokenizer, MaxDocuments = maxDocs,
            Labels = labels!, InvalidUtf8 = invalidUtf8 ?? InvalidUtf8.Error,
        };
    }

    private static List<CaptureSpec>? ReadCaptures(YamlNode node, ModelTable? models, ErrorSink errors)
    {
        if (errors.List(node, "captures", "captures ({model, sites})") is not { } items) return null;
        var captures = new List<CaptureSpec>();
        var seenModels = new Dictionary<string, YamlNode>();
        bool ok = true;
        for (int i = 0; i < items.Count; i++)
        {
            var path = $"captures[{i}]";
            if (errors.Mapping(items[i], path, CaptureKeys) is not { } c) { ok = false; continue; }
            var modelName = c.String("model", "the name of a model of this job", required: true);
            ModelSpec? model = null;
            if (modelName is not null && models is not null)
            {
                model = models.Find(modelName);
                if (!models.Declared.Contains(modelName))
                    errors.At(c["model"]!, $"{path}.model '{modelName}' is not a model of this job, expected one of: {string.Join(", ", models.Declared)}{Hint(modelName, models.Declared)}");
                else if (model is not null && seenModels.TryGetValue(modelName, out var first))
                {
                    errors.At(c["model"]!, $"{path}.model '{modelName}' is already captured at line {first.Start.Line}, expected one capture per model listing all its sites");
                    model = null;
                }
                else if (model is not null) seenModels[modelName] = c["model"]!;
            }

            var sites = ReadSites(c, path, model, errors);
            if (model is null || sites is null) { ok = false; continue; }
            captures.Add(new CaptureSpec { Model = model.Name, Sites = sites });
        }
        return ok ? captures : null;
    }

    private static List<string>? ReadSites(YamlSection c, string path, ModelSpec? model, ErrorSink errors)
    {
        const string expected = "hook-point names such as blocks.0.hook_resid_post";
        if (c.Required("sites", "a list of " + expected) is not { } node || errors.List(node, $"{path}.sites", expected) is not { } items)
            return null;
        var sites = new List<string>();
        var seen = new Dictionary<string, YamlNode>();
        bool ok = true;
        for (int j = 0; j < items.Count; j++)
        {
            var sitePath = $"{path}.sites[{j}]";
            if (errors.String(items[j], sitePath, expected) is not { } site) { ok = false; continue; }
            if (seen.TryGetValue(site, out var first))
            {
                errors.At(items[j], $"{sitePath} '{site}' is already listed at line {first.Start.Line}, expected each site once");
                ok = false;
                continue;
            }
            seen[site] = items[j];
            if (model is not null && !model.Descriptor.HookPoints.Contains(site))
            {
                errors.At(items[j], $"{sitePath} '{site}' is not a hook point of model '{model.Name}' ({model.Descriptor.NumLayers} layers), expected {HookPointSummary(model.Descriptor)}{Hint(site, model.Descriptor.HookPoints)}");
                ok = false;
                continue;
            }
            sites.Add(site);
        }
        return ok ? sites : null;
    }

    private static OutputSpec? ReadOutput(YamlNode node, string baseDir, ErrorSink errors)
    {
        if (errors.Mapping(node, "output", OutputKeys) is not { } o) return null;
        int before = errors.Errors.Count;
        var store = o.String("store", "a directory path for shards");
        var database = o.String("database", "a PostgreSQL URL (postgresql://...) or connection string");
        var shardDtype = o.Choice("shard_dtype", Dtypes);
        if (errors.Errors.Count > before) return null;
        return new OutputSpec
        {
            Store = Resolve(baseDir, store ?? OutputSpec.DefaultStore), Database = database, ShardDtype = shardDtype ?? ActivationDtype.Float32,
        };
    }

    private static string HookPointSummary(ModelDescriptor model)
    {
        const string outputs = "ln_final.hook_normalized, or the outputs logits and log_probs_next";
        if (model.NumLayers == 0) return "hook_embed, " + outputs;
        var perBlock = model.HookPoints.Where(h => h.StartsWith("blocks.0.", StringComparison.Ordinal)).Select(h => h["blocks.0.".Length..]).ToList();
        var note = perBlock.Contains("hook_resid_mid") ? "" : " (this architecture has no hook_resid_mid: attention and MLP run in parallel)";
        return $"hook_embed, blocks.{{0..{model.NumLayers - 1}}}.{{{string.Join(", ", perBlock)}}}, {outputs}{note}";
    }

    private static string Hint(string word, IEnumerable<string> candidates) =>
        Suggest.Closest(word, candidates) is { } close ? $"; did you mean '{close}'?" : "";

    private static string Resolve(string baseDir, string path) =>
        Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(baseDir, path));

    private static string DisplayPath(string full)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, full);
        return relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static string CanonicalText(int version, string name, CorpusSpec corpus, List<ModelSpec> models, List<CaptureSpec> captures,
        List<AnalysisSpec> analyses, ExecutionSpec execution, OutputSpec output, string baseDir)
    {
        string Rel(string p) => Path.GetRelativePath(baseDir, p).Replace('\\', '/');
        var sb = new StringBuilder();
        void Line(string key, object? value) => sb.Append(key).Append(": ").Append(value).Append('\n');
        Line("version", version);
        Line("name", name);
        Line("corpus.path", Rel(corpus.Path));
        Line("corpus.format", SpecNames.Of(corpus.Format));
        Line("corpus.max_tokens", corpus.MaxTokens);
        Line("corpus.sequences_per_shard", corpus.SequencesPerShard);
        Line("corpus.tokenizer", corpus.Tokenizer);
        Line("corpus.max_documents", corpus.MaxDocuments?.ToString() ?? "none");
        // Only when set, so the digests of jobs written before these keys existed stay as they were.
        if (corpus.Labels.Count > 0) Line("corpus.labels", string.Join(",", corpus.Labels));
        if (corpus.InvalidUtf8 != InvalidUtf8.Error) Line("corpus.invalid_utf8", SpecNames.Of(corpus.InvalidUtf8));
        for (int i = 0; i < models.Count; i++)
        {
            Line($"models[{i}].name", models[i].Name);
            Line($"models[{i}].path", Rel(models[i].Path));
        }
        for (int i = 0; i < captures.Count; i++)
        {
            Line($"captures[{i}].model", captures[i].Model);
            Line($"captures[{i}].sites", string.Join(",", captures[i].Sites));
        }
        for (int i = 0; i < analyses.Count; i++)
        {
            Line($"analyses[{i}].name", analyses[i].Name);
            Line($"analyses[{i}].kind", analyses[i].Kind);
            Line($"analyses[{i}].pairs", SpecNames.Of(analyses[i].Pairs));
            if (analyses[i].SiteList is { } siteList) Line($"analyses[{i}].sites", string.Join(",", siteList));
            else if (analyses[i].Sites != AnalysisSites.Dense) Line($"analyses[{i}].sites", SpecNames.Of(analyses[i].Sites));
            if (analyses[i].ModelList is { } modelList) Line($"analyses[{i}].models", string.Join(",", modelList));
            // Only when set, so the digests of jobs written before these keys existed stay as they were.
            if (analyses[i].Level != AnalysisLevel.Token)
            {
                Line($"analyses[{i}].level", SpecNames.Of(analyses[i].Level));
                Line($"analyses[{i}].reduce", SpecNames.Of(analyses[i].Reduce));
            }
            foreach (var (key, value) in analyses[i].Measure.Canonical(analyses[i].Parameters)) Line($"analyses[{i}].{key}", value);
            // Only when set, so the digests of jobs written before the key existed stay as they were.
            if (analyses[i].ShardsPerUnit is { } shards) Line($"analyses[{i}].shards_per_unit", shards);
        }
        Line("execution.device", execution.Device);
        Line("execution.dtype", SpecNames.Of(execution.Dtype));
        Line("execution.batch_size", execution.BatchSize);
        Line("execution.workers", execution.Workers);
        Line("output.store", Rel(output.Store));
        // Without its password: the digest is stored and shown, and a job is the same job whatever the password is.
        Line("output.database", output.Database is { } database ? DatabasePassword.Remove(database) : "embedded");
        // Only when set, so the digests of jobs written before the key existed stay as they were.
        if (output.ShardDtype != ActivationDtype.Float32) Line("output.shard_dtype", SpecNames.Of(output.ShardDtype));
        return sb.ToString();
    }
}
