using System.Text;

namespace Sweep.Models.Tokenizers;

/// <summary>
/// Each token id as a person reads it in a context window: the tokenizer's own decoding of that one id, so byte-level
/// BPE symbols come out as the text they stand for (GPT-2's Ġ is a space, Ċ a newline; SentencePiece's ▁ a space),
/// with the characters a page cannot show made visible: newline ↵, carriage return ␍, tab ⇥, other control
/// characters as ⟨U+XXXX⟩. A token whose bytes are not whole UTF-8 characters on their own (part of an emoji, say),
/// which every decoder turns into U+FFFD �, shows those bytes instead, ⟨0xF0⟩⟨0x9F⟩ (whole characters in it stay
/// text); a special token that decodes to nothing shows its id, ⟨id 0⟩.
/// Without a tokenizer (a corpus of ids) every token shows as ⟨id N⟩. Results are cached per id.
/// </summary>
public sealed class TokenTexts
{
    private readonly TextTokenizer? _tokenizer;
    private readonly Dictionary<int, string> _cache = [];

    public TokenTexts(TextTokenizer? tokenizer) => _tokenizer = tokenizer;

    /// <summary>Texts of the model directory's tokenizer, or ids only when it has none.</summary>
    public static TokenTexts For(string modelDirectory) =>
        new(TokenizerLoader.HasTokenizer(modelDirectory) ? TokenizerLoader.Load(modelDirectory) : null);

    public string this[int id]
    {
        get
        {
            if (_cache.TryGetValue(id, out var text)) return text;
            text = _tokenizer is null ? IdText(id) : Readable(_tokenizer.Decode([id]), id);
            if (text.Contains('\uFFFD') && _tokenizer?.TokenBytes(id) is { Length: > 0 } bytes) text = ReadableBytes(bytes);
            _cache[id] = text;
            return text;
        }
    }

    public string[] Of(IEnumerable<int> ids) => ids.Select(id => this[id]).ToArray();

    private static string IdText(int id) => $"⟨id {id}⟩";

    /// <summary>UTF-8 bytes as text where they form whole characters, each other byte as ⟨0xNN⟩.</summary>
    public static string ReadableBytes(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder(bytes.Length);
        while (!bytes.IsEmpty)
        {
            if (Rune.DecodeFromUtf8(bytes, out var rune, out int used) == System.Buffers.OperationStatus.Done)
            {
                text.Append(Readable(rune.ToString(), 0));
                bytes = bytes[used..];
            }
            else
            {
                text.Append($"⟨0x{bytes[0]:X2}⟩");
                bytes = bytes[1..];
            }
        }
        return text.ToString();
    }

    /// <summary>Makes line breaks, tabs and other control characters visible; an empty decoding shows the id.</summary>
    public static string Readable(string decoded, int id)
    {
        if (decoded.Length == 0) return IdText(id);
        var text = new StringBuilder(decoded.Length);
        foreach (var rune in decoded.EnumerateRunes())
            text.Append(rune.Value switch
            {
                '\n' => "↵",
                '\r' => "␍",
                '\t' => "⇥",
                var c when Rune.IsControl(rune) => $"⟨U+{c:X4}⟩",
                _ => rune.ToString(),
            });
        return text.ToString();
    }
}
