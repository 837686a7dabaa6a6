using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Tokenizers;

namespace Sweep.Models.Tokenizers;

/// <summary>
/// Builds the tokenizer a model directory defines. Recognised files, in order of preference:
/// <c>tokenizer.model</c> (SentencePiece, as Llama and Gemma ship it), <c>vocab.json</c> + <c>merges.txt</c>
/// (GPT-2 byte-level BPE), <c>tokenizer.json</c> of the byte-level BPE kind (as GPT-NeoX/Pythia ship it), and a
/// tiktoken encoding <c>ENCODING.tiktoken</c> (cl100k_base, o200k_base, p50k_base, r50k_base). BOS/EOS/pad and add_bos_token come from <c>tokenizer_config.json</c> and
/// <c>special_tokens_map.json</c> when present, else from the family's defaults.
/// </summary>
public static partial class TokenizerLoader
{
    public const string SentencePieceModelFile = "tokenizer.model";
    public const string VocabFile = "vocab.json";
    public const string MergesFile = "merges.txt";
    public const string HfTokenizerFile = "tokenizer.json";

    /// <summary>True when <paramref name="modelDirectory"/> holds a set of tokenizer files this loader reads.</summary>
    public static bool HasTokenizer(string modelDirectory) =>
        File.Exists(Path.Combine(modelDirectory, SentencePieceModelFile))
        || (File.Exists(Path.Combine(modelDirectory, VocabFile)) && File.Exists(Path.Combine(modelDirectory, MergesFile)))
        || File.Exists(Path.Combine(modelDirectory, HfTokenizerFile))
        || (Directory.Exists(modelDirectory) && Directory.EnumerateFiles(modelDirectory, "*" + TiktokenExtension).Any());

    /// <summary>
    /// The digest <see cref="Load"/>'s tokenizer would have (SHA-256 over the same files: the model files of the first
    /// kind found and the special-token configuration files), from the files alone, without building the tokenizer;
    /// null when the directory has no tokenizer files. What decides whether two models share a tokenization.
    /// </summary>
    public static string? DigestOf(string modelDirectory)
    {
        if (!HasTokenizer(modelDirectory)) return null;
        string[] modelFiles =
            File.Exists(Path.Combine(modelDirectory, SentencePieceModelFile)) ? [Path.Combine(modelDirectory, SentencePieceModelFile)]
            : File.Exists(Path.Combine(modelDirectory, VocabFile)) && File.Exists(Path.Combine(modelDirectory, MergesFile))
                ? [Path.Combine(modelDirectory, VocabFile), Path.Combine(modelDirectory, MergesFile)]
            : File.Exists(Path.Combine(modelDirectory, HfTokenizerFile)) ? [Path.Combine(modelDirectory, HfTokenizerFile)]
            : [TiktokenFile(modelDirectory)!];
        return Digest(DigestFiles(modelDirectory, modelFiles));
    }

    public static TextTokenizer Load(string modelDirectory)
    {
        if (!Directory.Exists(modelDirectory))
            throw new ModelLoadException($"{modelDirectory}: model directory not found");
        var settings = SpecialTokenSettings.Read(modelDirectory);
        var spModel = Path.Combine(modelDirectory, SentencePieceModelFile);
        if (File.Exists(spModel)) return LoadSentencePiece(modelDirectory, spModel, settings);
        var vocab = Path.Combine(modelDirectory, VocabFile);
        var merges = Path.Combine(modelDirectory, MergesFile);
        if (File.Exists(vocab) && File.Exists(merges))
            return LoadByteLevelBpe(modelDirectory, ReadVocab(vocab), ReadMerges(merges), [vocab, merges], new Dictionary<string, int>(), settings);
        var hf = Path.Combine(modelDirectory, HfTokenizerFile);
        if (File.Exists(hf))
        {
            var (hfVocab, hfMerges, added) = HfTokenizerJson.ReadByteLevelBpe(hf);
            return LoadByteLevelBpe(modelDirectory, hfVocab, hfMerges, [hf], added, settings);
        }
        if (TiktokenFile(modelDirectory) is { } tiktoken) return LoadTiktoken(modelDirectory, tiktoken, settings);
        throw new ModelLoadException(
            $"{modelDirectory}: no tokenizer files, expected {SentencePieceModelFile} (SentencePiece), {VocabFile} + {MergesFile} (GPT-2 byte-level BPE), {HfTokenizerFile} (byte-level BPE) or ENCODING.tiktoken");
    }

    private static TextTokenizer LoadSentencePiece(string dir, string modelPath, SpecialTokenSettings settings)
    {
        SentencePieceTokenizer sp;
        try
        {
            using var stream = File.OpenRead(modelPath);
            sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false,
                specialTokens: settings.AddedTokens.Count > 0 ? settings.AddedTokens : null);
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"{modelPath}: not a readable SentencePiece model ({e.Message})", e);
        }
        int vocabSize = Math.Max(sp.Vocabulary.Values.Max(), settings.AddedTokens.Values.DefaultIfEmpty(0).Max()) + 1;
        int? Id(string? token, string key) => token is null ? null
            : sp.Vocabulary.TryGetValue(token, out int id) ? id
            : settings.AddedTokens.TryGetValue(token, out int added) ? added
            : throw new ModelLoadException($"{dir}: {key} '{token}' is not in {SentencePieceModelFile}");

        int? bos = settings.BosToken is not null ? Id(settings.BosToken, "bos_token")
            : settings.ExplicitNulls.Contains("bos_token") ? null : sp.BeginningOfSentenceId;
        int? eos = settings.EosToken is not null ? Id(settings.EosToken, "eos_token")
            : settings.ExplicitNulls.Contains("eos_token") ? null : sp.EndOfSentenceId;
        int? pad = Id(settings.PadToken, "pad_token");
        var files = DigestFiles(dir, [modelPath]);
        return new TextTokenizer(sp, TokenizerKind.SentencePiece, files, Digest(files),
            vocabSize, bos, eos, pad, settings.AddBosToken ?? true);
    }

    private static Dictionary<string, int> ReadVocab(string vocabPath)
    {
        try { return JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllBytes(vocabPath)) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new ModelLoadException($"{vocabPath}: not a JSON object of token -> id ({e.Message})", e); }
    }

    /// <summary>GPT-2 style BPE; <paramref name="addedTokens"/> (tokenizer.json's added_tokens) are matched whole, before splitting.</summary>
    private static TextTokenizer LoadByteLevelBpe(string dir, Dictionary<string, int> vocab, List<string> merges, string[] modelFiles,
        IReadOnlyDictionary<string, int> addedTokens, SpecialTokenSettings settings)
    {
        foreach (var (token, id) in addedTokens) vocab.TryAdd(token, id);
        var specials = new Dictionary<string, int>(addedTokens);
        if (vocab.TryGetValue(Gpt2ByteLevel.EndOfText, out int eot)) specials[Gpt2ByteLevel.EndOfText] = eot;
        foreach (var token in new[] { settings.BosToken, settings.EosToken, settings.PadToken })
            if (token is not null && vocab.TryGetValue(token, out int id)) specials[token] = id;

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges,
                ByteLevel = true,
                SpecialTokens = specials,
                PreTokenizer = new RegexPreTokenizer(Gpt2ByteLevel.SplitRegex, specials),
            });
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"{dir}: {string.Join(" + ", modelFiles.Select(Path.GetFileName))} do not form a BPE tokenizer ({e.Message})", e);
        }

        int? Id(string? token, string key) => token is null ? null
            : vocab.TryGetValue(token, out int id) ? id
            : throw new ModelLoadException($"{dir}: {key} '{token}' is not in the vocabulary of {Path.GetFileName(modelFiles[0])}");
        int? defaultEot = vocab.TryGetValue(Gpt2ByteLevel.EndOfText, out int e2) ? e2 : null;

        int? bos = settings.BosToken is not null ? Id(settings.BosToken, "bos_token")
            : settings.ExplicitNulls.Contains("bos_token") ? null : defaultEot;
        int? eos = settings.EosToken is not null ? Id(settings.EosToken, "eos_token")
            : settings.ExplicitNulls.Contains("eos_token") ? null : defaultEot;
        int? pad = Id(settings.PadToken, "pad_token");
        var files = DigestFiles(dir, modelFiles);
        return new TextTokenizer(bpe, TokenizerKind.ByteLevelBpe, files, Digest(files),
            vocab.Values.Max() + 1, bos, eos, pad, settings.AddBosToken ?? false);
    }

    /// <summary>merges.txt lines "left right", skipping the "#version" header and blank lines.</summary>
    private static List<string> ReadMerges(string path)
    {
        var merges = new List<string>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Length == 0 || (lineNo == 1 && line.StartsWith("#version"))) continue;
            if (line.Split(' ').Length != 2)
                throw new ModelLoadException($"{path}:{lineNo}: expected two space-separated symbols, found '{line}'");
            merges.Add(line);
        }
        return merges;
    }

    /// <summary>The model files plus the special-token configuration files that exist (they change BOS/EOS).</summary>
    private static IReadOnlyList<string> DigestFiles(string dir, IEnumerable<string> modelFiles) =>
        modelFiles
            .Concat(new[] { SpecialTokenSettings.ConfigFile, SpecialTokenSettings.MapFile }.Select(f => Path.Combine(dir, f)).Where(File.Exists))
            .Select(Path.GetFullPath)
            .ToList();

    /// <summary>SHA-256 over each file's name, length and bytes, in the given order.</summary>
    private static string Digest(IReadOnlyList<string> files)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{Path.GetFileName(file)}\n{bytes.Length}\n"));
            sha.AppendData(bytes);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
