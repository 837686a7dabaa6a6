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
}
