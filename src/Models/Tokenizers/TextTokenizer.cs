using Microsoft.ML.Tokenizers;

namespace Sweep.Models.Tokenizers;

public enum TokenizerKind { ByteLevelBpe, SentencePiece, Tiktoken }

/// <summary>An <see cref="ITextTokenizer"/> over a Microsoft.ML.Tokenizers tokenizer, with the special tokens resolved.</summary>
public sealed class TextTokenizer : ITextTokenizer
{
    private readonly Tokenizer _inner;

    internal TextTokenizer(Tokenizer inner, TokenizerKind kind, IReadOnlyList<string> files, string digest,
        int vocabSize, int? bosId, int? eosId, int? padId, bool addsBos)
    {
        _inner = inner;
        Kind = kind;
        Files = files;
        Digest = digest;
        VocabSize = vocabSize;
        BosId = bosId;
        EosId = eosId;
        PadId = padId;
        AddsBosByDefault = addsBos && bosId is not null;
    }

    public TokenizerKind Kind { get; }

    /// <summary>The files the tokenizer was built from (absolute paths, in digest order).</summary>
    public IReadOnlyList<string> Files { get; }

    public string Digest { get; }
    public int VocabSize { get; }
    public int? BosId { get; }
    public int? EosId { get; }
    public int? PadId { get; }
    public bool AddsBosByDefault { get; }

    public IReadOnlyList<int> Encode(string text, bool addBos)
    {
        var ids = _inner.EncodeToIds(text);
        if (!addBos || BosId is not { } bos) return ids;
        var withBos = new List<int>(ids.Count + 1) { bos };
        withBos.AddRange(ids);
        return withBos;
    }

    public string Decode(IEnumerable<int> ids) => _inner.Decode(ids);

    /// <summary>
    /// The bytes one token stands for, where its vocabulary entry says: a byte-level BPE symbol maps back char by
    /// char to bytes, a SentencePiece byte piece <c>&lt;0xNN&gt;</c> is that byte (other pieces are their UTF-8, ▁ a space).
    /// Null for tiktoken and ids outside the vocabulary. Used to show a token that is part of a UTF-8 character.
    /// </summary>
    public byte[]? TokenBytes(int id)
    {
        _pieces ??= PiecesById();
        if (!_pieces.TryGetValue(id, out var piece)) return null;
        return Kind switch
        {
            TokenizerKind.ByteLevelBpe => Gpt2ByteLevel.ToBytes(piece),
            TokenizerKind.SentencePiece => SentencePieceBytes(piece),
            _ => null,
        };
    }

    private Dictionary<int, string>? _pieces;

    private Dictionary<int, string> PiecesById()
    {
        IReadOnlyDictionary<string, int> vocabulary = _inner switch
        {
            BpeTokenizer bpe => bpe.Vocabulary,
            SentencePieceTokenizer sp => sp.Vocabulary,
            _ => new Dictionary<string, int>(),
        };
        var byId = new Dictionary<int, string>(vocabulary.Count);
        foreach (var (piece, id) in vocabulary) byId.TryAdd(id, piece);
        return byId;
    }

    private static byte[] SentencePieceBytes(string piece) =>
        piece is ['<', '0', 'x', _, _, '>'] && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte b)
            ? [b]
            : System.Text.Encoding.UTF8.GetBytes(piece.Replace('\u2581', ' '));
}
