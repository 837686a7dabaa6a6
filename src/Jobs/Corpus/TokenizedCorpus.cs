namespace Sweep.Jobs.Corpus;

/// <summary>
/// A run of consecutive sequences. <see cref="Digest"/> is SHA-256 over the shard index and every
/// sequence's length and ids (int32 little-endian), so it names exactly the tokens a capture of it sees.
/// </summary>
public sealed record CorpusShard(int Index, IReadOnlyList<int[]> Sequences, string Digest)
{
    public long TokenCount => Sequences.Sum(s => (long)s.Length);
}

/// <summary>
/// The corpus tokenized once for every model that shares one tokenizer: shards of sequences of at most MaxTokens ids.
/// <see cref="Digest"/> is SHA-256 over the shard digests in order.
/// </summary>
public sealed record TokenizedCorpus(IReadOnlyList<CorpusShard> Shards, string Digest, string TokenizerDigest, int SequenceCount, long TokenCount)
{
    /// <summary>Documents that produced at least one sequence.</summary>
    public int DocumentCount { get; init; }

    /// <summary>Whether text documents' sequences start with BOS (the tokenizer's add_bos_token).</summary>
    public bool AddsBos { get; init; }

    /// <summary>The BOS id text documents' sequences start with (null when the tokenizer adds none, or for a corpus of ids).</summary>
    public int? BosId { get; init; }

    /// <summary>Per corpus-wide sequence (a shard's <c>seq</c>), the 1-based line of the corpus file its document came from.</summary>
    public IReadOnlyList<int> SequenceLines { get; init; } = [];

    /// <summary>The labels of every sequence (<c>corpus.labels</c>), or null for an unlabelled corpus.</summary>
    public CorpusLabels? Labels { get; init; }

    public int MaxTokenId => Shards.SelectMany(s => s.Sequences).SelectMany(s => s).DefaultIfEmpty(-1).Max();
}

/// <summary>
/// Every tokenization of a job's corpus, one per tokenizer its models use (<c>JobSpec.Tokenizations</c>), the corpus
/// tokenizer's first (<see cref="Primary"/>). With several, each document is one sequence in every tokenization, so a
/// document has the same corpus-wide sequence index (a shard's <c>seq</c>) and shard in all of them, and prompts align.
/// </summary>
public sealed record CorpusTokenizations(IReadOnlyList<TokenizedCorpus> All, IReadOnlyDictionary<string, TokenizedCorpus> ByModel)
{
    public TokenizedCorpus Primary => All[0];

    /// <summary>The tokenization model <paramref name="model"/> reads (the one there is, when there is one).</summary>
    public TokenizedCorpus Of(string model) =>
        ByModel.TryGetValue(model, out var corpus) ? corpus : All.Count == 1 ? All[0] : throw new KeyNotFoundException($"no tokenization for model '{model}'");

    /// <summary>One tokenization shared by every model of <paramref name="models"/>.</summary>
    public static CorpusTokenizations Shared(TokenizedCorpus corpus, IEnumerable<string> models) =>
        new([corpus], models.ToDictionary(m => m, _ => corpus));
}
