namespace Sweep.Analysis.Measures;

/// <summary>
/// What a job says about its corpus, for <see cref="Measure.CheckCorpus"/>: the label fields it names
/// (<c>corpus.labels</c>, empty for an unlabelled corpus), the model whose tokenizer tokenizes it and whether that model
/// has tokenizer files, and — once the corpus has been read — the values each label field takes (in order of first
/// appearance; null before).
/// </summary>
public sealed record CorpusFacts(IReadOnlyList<string> LabelFields, string TokenizerModel, bool HasTokenizer,
    Func<string, IReadOnlyList<string>>? LabelValues = null);

/// <summary>
/// The corpus tokenizer as <see cref="Measure.ForCorpus"/> sees it: the BOS id when the corpus's sequences start with it
/// (null otherwise), and text to ids without BOS (null when the tokenizer model has no tokenizer files).
/// </summary>
public sealed record CorpusTokenizer(int? BosId, Func<string, IReadOnlyList<int>>? Encode)
{
    public static readonly CorpusTokenizer None = new(null, null);
}
