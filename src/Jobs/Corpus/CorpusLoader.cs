using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Sweep.Jobs.Spec;
using Sweep.Models.Tokenizers;

namespace Sweep.Jobs.Corpus;

/// <summary>How a corpus is cut: sequences of at most <see cref="MaxTokens"/> ids, shards of <see cref="SequencesPerShard"/> sequences.</summary>
public sealed record CorpusOptions(int MaxTokens, int SequencesPerShard, int? MaxDocuments = null);

/// <summary>A model's vocabulary size, against which every corpus id is checked.</summary>
public sealed record VocabularyLimit(string Model, int VocabSize);

/// <summary>
/// Reads, tokenizes and shards a corpus once, for all models of a job.
/// Sequences: a document's tokens cut into consecutive chunks; when the tokenizer adds BOS, every chunk starts
/// with BOS and holds up to MaxTokens - 1 document tokens (so no sequence starts mid-context without the
/// token models treat as the start). Pre-tokenized <c>ids</c> documents are used exactly as given, no BOS added,
/// chunks of MaxTokens. Documents with no tokens are skipped. Shards take sequences in document order.
/// </summary>
public static class CorpusLoader
{
    /// <summary>Digest recorded for corpora of ids only when the tokenizer model has no tokenizer files.</summary>
    public static readonly string PreTokenizedDigest = Convert.ToHexStringLower(SHA256.HashData("sweep.pretokenized"u8));

    /// <summary>Reads the job's corpus with its tokenizer model's tokenizer; ids are checked against every model's vocab_size.</summary>
    public static TokenizedCorpus Load(JobSpec spec)
    {
        var corpus = spec.Corpus;
        var model = spec.TokenizerModel;
        ITextTokenizer? tokenizer = TokenizerLoader.HasTokenizer(model.Path) ? TokenizerLoader.Load(model.Path) : null;
        var limits = spec.Models.Select(m => new VocabularyLimit(m.Name, m.Descriptor.Config.VocabSize)).ToList();
        var documents = CorpusReader.Read(corpus.Path, corpus.Format, corpus.DisplayPath, corpus.MaxDocuments);
        var tokenized = Build(documents, tokenizer, new CorpusOptions(corpus.MaxTokens, corpus.SequencesPerShard), corpus.DisplayPath, limits,
            tokenizerName: model.Name);
        return corpus.Labels.Count == 0 ? tokenized
            : tokenized with { Labels = CorpusLabels.Read(corpus.Path, corpus.DisplayPath, corpus.Labels, tokenized, corpus.MaxTokens) };
    }

    /// <summary>Tokenizes and shards <paramref name="documents"/>; errors name <paramref name="displayPath"/> and the document's line.</summary>
    public static TokenizedCorpus Build(IReadOnlyList<CorpusDocument> documents, ITextTokenizer? tokenizer, CorpusOptions options,
        string displayPath, IReadOnlyList<VocabularyLimit>? limits = null, string? tokenizerName = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SequencesPerShard, 1);
        bool addBos = tokenizer is { AddsBosByDefault: true, BosId: not null };
        if (addBos && options.MaxTokens < 2 && documents.Any(d => d.Text is not null))
            throw new JobValidationException([new JobError(displayPath, 0, 0,
                $"max_tokens is {options.MaxTokens} but the tokenizer adds BOS to every sequence, expected max_tokens of at least 2")]);
        var errors = new List<JobError>();

        var sequences = new List<int[]>();
        var sequenceLines = new List<int>();
        int documentCount = 0;
        foreach (var doc in documents)
        {
            if (errors.Count >= 20) break;
            int[] ids;
            bool bos = false;
            if (doc.Ids is not null) ids = doc.Ids;
            else if (tokenizer is null)
            {
                errors.Add(new JobError(displayPath, doc.Line, 0, $"a text document but model '{tokenizerName}' has no tokenizer files, expected \"ids\" or a corpus.tokenizer model with tokenizer.model, vocab.json + merges.txt or tokenizer.json"));
                continue;
            }
            else
            {
                ids = [.. tokenizer.Encode(doc.Text!, addBos: false)];
                bos = addBos;
            }
            if (ids.Length == 0) continue;
            if (limits is not null && CheckIds(ids, limits) is { } problem)
            {
                errors.Add(new JobError(displayPath, doc.Line, 0, problem));
                continue;
            }
            documentCount++;
            foreach (var chunk in Chunk(ids, options.MaxTokens, bos ? tokenizer!.BosId : null))
            {
                sequences.Add(chunk);
                sequenceLines.Add(doc.Line);
            }
        }
        if (errors.Count == 0 && sequences.Count == 0)
            errors.Add(new JobError(displayPath, 0, 0, "the corpus is empty: no document has any tokens, expected at least one non-blank line"));
        if (errors.Count > 0) throw new JobValidationException(errors);

        var shards = new List<CorpusShard>();
        for (int start = 0, index = 0; start < sequences.Count; start += options.SequencesPerShard, index++)
        {
            var slice = sequences.GetRange(start, Math.Min(options.SequencesPerShard, sequences.Count - start));
            shards.Add(new CorpusShard(index, slice, ShardDigest(index, slice)));
        }
        var corpusDigest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            "sweep.corpus\n" + string.Join("\n", shards.Select(s => s.Digest)))));
        return new TokenizedCorpus(shards, corpusDigest, tokenizer?.Digest ?? PreTokenizedDigest, sequences.Count, sequences.Sum(s => (long)s.Length))
        {
            DocumentCount = documentCount,
            AddsBos = addBos,
            SequenceLines = sequenceLines,
        };
    }

    /// <summary>Every id below every model's vocab_size, or a one-line description of the first that is not.</summary>
    public static string? CheckIds(IReadOnlyList<int> ids, IReadOnlyList<VocabularyLimit> limits)
    {
        if (ids.Count == 0 || limits.Count == 0) return null;
        int max = ids.Max();
        var tightest = limits.MinBy(l => l.VocabSize)!;
        if (max < tightest.VocabSize) return null;
        int position = ids.ToList().IndexOf(max);
        return $"token id {max} at position {position} is out of range for model '{tightest.Model}', expected ids below its vocab_size {tightest.VocabSize}";
    }

    /// <summary>Consecutive chunks of <paramref name="ids"/>; with a BOS id each chunk is BOS + up to maxTokens - 1 ids.</summary>
    public static IEnumerable<int[]> Chunk(int[] ids, int maxTokens, int? bosId)
    {
        int room = bosId is null ? maxTokens : maxTokens - 1;
        if (room < 1) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "no room for a token after BOS");
        for (int start = 0; start < ids.Length; start += room)
        {
            int length = Math.Min(room, ids.Length - start);
            if (bosId is not { } bos) { yield return ids[start..(start + length)]; continue; }
            var chunk = new int[length + 1];
            chunk[0] = bos;
            Array.Copy(ids, start, chunk, 1, length);
            yield return chunk;
        }
    }

    private static string ShardDigest(int index, IReadOnlyList<int[]> sequences)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var word = new byte[4];
        void Int(int value) { BinaryPrimitives.WriteInt32LittleEndian(word, value); sha.AppendData(word); }
        sha.AppendData("sweep.shard\n"u8);
        Int(index);
        Int(sequences.Count);
        foreach (var sequence in sequences)
        {
            Int(sequence.Length);
            foreach (int id in sequence) Int(id);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
