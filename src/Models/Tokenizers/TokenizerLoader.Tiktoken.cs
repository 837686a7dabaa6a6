using Microsoft.ML.Tokenizers;

namespace Sweep.Models.Tokenizers;

/// <summary>tiktoken encodings: a <c>ENCODING.tiktoken</c> file (base64 token, rank per line) named after its encoding.</summary>
public static partial class TokenizerLoader
{
    public const string TiktokenExtension = ".tiktoken";

    /// <summary>
    /// The encodings whose pre-tokenizer regex and special tokens Microsoft.ML.Tokenizers knows, each by a model name
    /// it maps to that encoding (the file only holds the ranks; the regex comes with the encoding's name).
    /// </summary>
    private static readonly Dictionary<string, string> ModelOfEncoding = new(StringComparer.Ordinal)
    {
        ["cl100k_base"] = "gpt-4",
        ["o200k_base"] = "gpt-4o",
        ["p50k_base"] = "text-davinci-003",
        ["r50k_base"] = "text-davinci-001",
    };

    private static string? TiktokenFile(string directory)
    {
        if (!Directory.Exists(directory)) return null;
        var files = Directory.GetFiles(directory, "*" + TiktokenExtension).Order(StringComparer.Ordinal).ToList();
        return files.Count switch
        {
            0 => null,
            1 => files[0],
            _ => throw new ModelLoadException($"{directory}: {files.Count} *{TiktokenExtension} files ({string.Join(", ", files.Select(Path.GetFileName))}), expected one"),
        };
    }

    /// <summary>The largest rank in a tiktoken file (the tokenizer does not expose its table).</summary>
    private static int MaxRank(string path)
    {
        int max = -1;
        foreach (var line in File.ReadLines(path))
        {
            int space = line.LastIndexOf(' ');
            if (space > 0 && int.TryParse(line.AsSpan(space + 1), out int rank) && rank > max) max = rank;
        }
        return max;
    }

    private static TextTokenizer LoadTiktoken(string dir, string path, SpecialTokenSettings settings)
    {
        string encoding = Path.GetFileNameWithoutExtension(path);
        if (!ModelOfEncoding.TryGetValue(encoding, out var model))
            throw new ModelLoadException($"{path}: unknown tiktoken encoding '{encoding}', expected the file to be named after one of: {string.Join(", ", ModelOfEncoding.Keys.Select(e => e + TiktokenExtension))}");
        TiktokenTokenizer tokenizer;
        try
        {
            using var stream = File.OpenRead(path);
            tokenizer = TiktokenTokenizer.CreateForModel(model, stream);
        }
        catch (Exception e) when (e is not ModelLoadException)
        {
            throw new ModelLoadException($"{path}: not a readable tiktoken file ({e.Message.ReplaceLineEndings(" ")}), expected lines of 'base64-token rank'", e);
        }

        var specials = tokenizer.SpecialTokens ?? new Dictionary<string, int>();
        int? Id(string? token, string key) => token is null ? null
            : specials.TryGetValue(token, out int special) ? special
            : tokenizer.EncodeToIds(token) is [var single] ? single
            : throw new ModelLoadException($"{dir}: {key} '{token}' is not one token of {Path.GetFileName(path)}");
        int? endOfText = specials.TryGetValue("<|endoftext|>", out int eot) ? eot : null;
        int? bos = settings.BosToken is not null ? Id(settings.BosToken, "bos_token") : null;
        int? eos = settings.EosToken is not null ? Id(settings.EosToken, "eos_token")
            : settings.ExplicitNulls.Contains("eos_token") ? null : endOfText;
        int? pad = Id(settings.PadToken, "pad_token");
        int vocabSize = Math.Max(MaxRank(path) + 1, specials.Count == 0 ? 0 : specials.Values.Max() + 1);
        var files = DigestFiles(dir, [path]);
        return new TextTokenizer(tokenizer, TokenizerKind.Tiktoken, files, Digest(files), vocabSize, bos, eos, pad, settings.AddBosToken ?? false);
    }
}
