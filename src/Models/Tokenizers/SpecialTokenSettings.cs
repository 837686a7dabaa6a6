using System.Text.Json;

namespace Sweep.Models.Tokenizers;

/// <summary>
/// What a Hugging Face directory says about BOS/EOS/pad: <c>tokenizer_config.json</c> first, then
/// <c>special_tokens_map.json</c> for tokens it leaves out. Tokens may be written as strings or as
/// <c>{"content": ...}</c> objects (AddedToken); null means "none". Absent keys stay null here and the
/// tokenizer family's defaults apply.
/// </summary>
public sealed record SpecialTokenSettings(bool? AddBosToken, string? BosToken, string? EosToken, string? PadToken)
{
    public const string ConfigFile = "tokenizer_config.json";
    public const string MapFile = "special_tokens_map.json";

    /// <summary>Whether a key was present with an explicit null (which disables a family default).</summary>
    public IReadOnlySet<string> ExplicitNulls { get; init; } = new HashSet<string>();

    /// <summary>tokenizer_config.json's added_tokens_decoder (content to id): tokens matched whole in the text, as transformers does.</summary>
    public IReadOnlyDictionary<string, int> AddedTokens { get; init; } = new Dictionary<string, int>();

    public static SpecialTokenSettings Read(string directory)
    {
        var config = ReadJson(Path.Combine(directory, ConfigFile));
        var map = ReadJson(Path.Combine(directory, MapFile));
        var nulls = new HashSet<string>();
        var sources = new[] { config, map }.Where(s => s is not null).Select(s => s!.Value).ToList();

        string? Token(string key)
        {
            foreach (var (root, path) in sources)
            {
                if (!root.TryGetProperty(key, out var v)) continue;
                switch (v.ValueKind)
                {
                    case JsonValueKind.String: return v.GetString();
                    case JsonValueKind.Null: nulls.Add(key); return null;
                    case JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String:
                        return c.GetString();
                    default: throw new ModelLoadException($"{path}: key '{key}' is {v.ValueKind}, expected a string or an object with 'content'");
                }
            }
            return null;
        }

        bool? addBos = null;
        if (config is { } cfg && cfg.Root.TryGetProperty("add_bos_token", out var ab))
            addBos = ab.ValueKind switch
            {
                JsonValueKind.True => true,
                JsonValueKind.False => false,
                JsonValueKind.Null => null,
                _ => throw new ModelLoadException($"{cfg.Path}: key 'add_bos_token' is {ab.ValueKind}, expected true or false"),
            };

        return new SpecialTokenSettings(addBos, Token("bos_token"), Token("eos_token"), Token("pad_token"))
        {
            ExplicitNulls = nulls,
            AddedTokens = config is { } c ? ReadAddedTokens(c.Root, c.Path) : new Dictionary<string, int>(),
        };
    }

    /// <summary><c>"added_tokens_decoder": {"106": {"content": "&lt;start_of_turn&gt;", "special": true, ...}, ...}</c>.</summary>
    private static Dictionary<string, int> ReadAddedTokens(JsonElement root, string path)
    {
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!root.TryGetProperty("added_tokens_decoder", out var decoder) || decoder.ValueKind != JsonValueKind.Object) return added;
        foreach (var entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, out int id) || id < 0 || entry.Value.ValueKind != JsonValueKind.Object
                || !entry.Value.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                throw new ModelLoadException($"{path}: added_tokens_decoder entry '{entry.Name}' is not an id with {{\"content\": ...}}, expected e.g. \"106\": {{\"content\": \"<start_of_turn>\"}}");
            added[content.GetString()!] = id;
        }
        return added;
    }

    private static (JsonElement Root, string Path)? ReadJson(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement.Clone();
            if (root.ValueKind != JsonValueKind.Object) throw new ModelLoadException($"{path}: expected a JSON object");
            return (root, path);
        }
        catch (JsonException e) { throw new ModelLoadException($"{path}: not valid JSON ({e.Message})", e); }
    }
}
