using Sweep.Models.Tokenizers;

namespace Sweep.Jobs.Tests.Corpus;

/// <summary>One token per character (its code point), BOS = 0: makes chunk boundaries easy to read in tests.</summary>
public sealed class CharTokenizer(bool addsBos) : ITextTokenizer
{
    public IReadOnlyList<int> Encode(string text, bool addBos) =>
        (addBos ? [0] : Array.Empty<int>()).Concat(text.Select(c => (int)c)).ToList();

    public int? BosId => 0;
    public int? EosId => 0;
    public int? PadId => null;
    public bool AddsBosByDefault => addsBos;
    public int VocabSize => 128;
    public string Digest => addsBos ? "char-bos" : "char";
}
