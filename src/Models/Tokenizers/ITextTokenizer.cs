namespace Sweep.Models.Tokenizers;

/// <summary>Text to token ids, as a model directory's tokenizer files define it.</summary>
public interface ITextTokenizer
{
    /// <summary>Token ids of <paramref name="text"/>; a BOS id first when <paramref name="addBos"/> and the tokenizer has one.</summary>
    IReadOnlyList<int> Encode(string text, bool addBos);

    int? BosId { get; }
    int? EosId { get; }
    int? PadId { get; }

    /// <summary>Whether the tokenizer's configuration prepends BOS (tokenizer_config.json add_bos_token, or the family default).</summary>
    bool AddsBosByDefault { get; }

    int VocabSize { get; }

    /// <summary>SHA-256 (hex) over the tokenizer files' bytes, so shards record exactly which tokenizer made their ids.</summary>
    string Digest { get; }
}
