using System.Text.Json;

namespace Sweep.Models.Tokenizers;

/// <summary>
/// Reads the byte-level BPE kind of Hugging Face <c>tokenizer.json</c> (GPT-2, GPT-NeoX/Pythia): <c>model.type</c>
/// "BPE" with a ByteLevel pre-tokenizer. Other kinds are refused with a message naming what was found.
/// </summary>
internal static class HfTokenizerJson
{
    public static (Dictionary<string, int> Vocab, List<string> Merges, Dictionary<string, int> AddedTokens) ReadByteLevelBpe(string path)
    {
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new ModelLoadException($"{path}: not valid JSON ({e.Message})", e); }

        if (!root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException($"{path}: key 'model' missing, expected a Hugging Face tokenizer.json");
        string type = model.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()! : "(none)";
        if (type != "BPE" || !UsesByteLevel(root))
            throw new ModelLoadException($"{path}: model type '{type}' with this pre_tokenizer is not supported, expected BPE with GPT-2's ByteLevel pre-tokenizer (GPT-2, GPT-NeoX) or a tokenizer.model for SentencePiece");

        var vocab = new Dictionary<string, int>();
        if (!model.TryGetProperty("vocab", out var v) || v.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException($"{path}: key 'model.vocab' missing, expected an object of token -> id");
        foreach (var entry in v.EnumerateObject()) vocab[entry.Name] = entry.Value.GetInt32();

        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
            foreach (var merge in m.EnumerateArray())
                merges.Add(merge.ValueKind switch
                {
                    // Older files write "left right"; newer ones ["left", "right"].
                    JsonValueKind.String => merge.GetString()!,
                    JsonValueKind.Array when merge.GetArrayLength() == 2 => $"{merge[0].GetString()} {merge[1].GetString()}",
                    _ => throw new ModelLoadException($"{path}: a merge is {merge.GetRawText()}, expected \"left right\" or [\"left\", \"right\"]"),
                });

        var added = new Dictionary<string, int>();
        if (root.TryGetProperty("added_tokens", out var a) && a.ValueKind == JsonValueKind.Array)
            foreach (var token in a.EnumerateArray())
                if (token.TryGetProperty("content", out var c) && token.TryGetProperty("id", out var id))
                    added[c.GetString()!] = id.GetInt32();
        return (vocab, merges, added);
    }

    /// <summary>
    /// Exactly GPT-2's pre-tokenization: a lone ByteLevel step with its regex and no added prefix space.
    /// (Sequences such as Llama 3's Split + ByteLevel use another pattern and would tokenize differently.)
    /// </summary>
    private static bool UsesByteLevel(JsonElement root) =>
        root.TryGetProperty("pre_tokenizer", out var pre) && pre.ValueKind == JsonValueKind.Object
        && pre.TryGetProperty("type", out var t) && t.GetString() == "ByteLevel"
        && !(pre.TryGetProperty("add_prefix_space", out var prefix) && prefix.ValueKind == JsonValueKind.True)
        && !(pre.TryGetProperty("use_regex", out var regex) && regex.ValueKind == JsonValueKind.False);
}
