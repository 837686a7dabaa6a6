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

/// <summary>What <see cref="CorpusLoader.Validate"/> read: the usable documents.</summary>
public sealed record CorpusSummary(int Documents);

/// <summary>
/// Reads, tokenizes and shards a corpus once, for all models of a job that share a tokenizer.
/// Sequences: a document's tokens cut into consecutive chunks; when the tokenizer adds BOS, every chunk starts
/// with BOS and holds up to MaxTokens - 1 document tokens (so no sequence starts mid-context without the
/// token models treat as the start). Pre-tokenized <c>ids</c> documents are used exactly as given, no BOS added,
/// chunks of MaxTokens. Documents with no tokens are skipped. Shards take sequences in document order.
/// Models with different tokenizers: see <see cref="LoadAll"/>.
/// </summary>
public static partial class CorpusLoader
{
    /// <summary>Digest recorded for corpora of ids only when the tokenizer model has no tokenizer files.</summary>
    public static readonly string PreTokenizedDigest = Convert.ToHexStringLower(SHA256.HashData("sweep.pretokenized"u8));

    /// <summary>
    /// The corpus tokenizer's tokenization of the job's corpus (<see cref="LoadAll"/>'s first); ids are checked against
    /// the vocab_size of every model that reads them.
    /// </summary>
    public static TokenizedCorpus Load(JobSpec spec) => spec.Tokenizations.Count == 1 ? LoadShared(spec) : LoadAll(spec).Primary;

    /// <summary>The one tokenization of a job whose models all share the corpus tokenizer (as every job did before there could be more).</summary>
    private static TokenizedCorpus LoadShared(JobSpec spec)
    {
        var (documents, tokenizer, options, limits, errors) = Open(spec);
        var tokenized = Build(documents, tokenizer, options, spec.Corpus.DisplayPath, limits, spec.Corpus.Tokenizer, errors);
        var corpus = spec.Corpus;
        if (corpus.Labels.Count == 0) return tokenized;
        var labels = CorpusLabels.Read(corpus.Path, corpus.DisplayPath, corpus.Labels, tokenized, corpus.MaxTokens);
        if (JobLoader.CheckLabels(spec, labels) is { Count: > 0 } problems) throw new JobValidationException(problems);
        return tokenized with { Labels = labels };
    }

    /// <summary>
    /// Checks the job's corpus as <see cref="Load"/> would, streaming (one line in memory at a time; nothing kept but,
    /// for a labelled corpus, one line number per sequence): every error <see cref="Load"/> would raise is raised here,
    /// as the same <see cref="JobValidationException"/>. Text is tokenized only where that can find a problem: until
    /// the first document with tokens (an empty corpus), throughout when the tokenizer's vocabulary is larger than a
    /// model's vocab_size (ids out of range), and throughout for a labelled corpus (a document cut into several sequences).
    /// </summary>
    public static CorpusSummary Validate(JobSpec spec)
    {
        if (spec.Tokenizations.Count > 1) return ValidateAll(spec);
        var (documents, tokenizer, options, limits, errors) = Open(spec);
        bool labelled = spec.Corpus.Labels.Count > 0;
        bool tokenizerFits = tokenizer is null || limits.Count == 0 || tokenizer.VocabSize <= limits.Min(l => l.VocabSize);
        int count = 0;
        bool anyTokens = false;
        var sequenceLines = new List<int>();
        bool bos = AddsBos(tokenizer);
        foreach (var (line, ids, fromText) in Documents(documents, tokenizer, options, limits, spec.Corpus.Tokenizer, errors,
                     skipText: () => anyTokens && tokenizerFits && !labelled))
        {
            count++;
            anyTokens |= ids is not null;   // null: text not tokenized, since it cannot fail
            if (labelled && ids is not null)
                sequenceLines.AddRange(Enumerable.Repeat(line, ChunkCount(ids.Length, options.MaxTokens, fromText && bos)));
        }
        Finish(errors, anyTokens);
        if (labelled)
        {
            var labels = CorpusLabels.Read(spec.Corpus.Path, spec.Corpus.DisplayPath, spec.Corpus.Labels, sequenceLines, spec.Corpus.MaxTokens);
            if (JobLoader.CheckLabels(spec, labels) is { Count: > 0 } problems) throw new JobValidationException(problems);
        }
        return new CorpusSummary(count);
    }

    /// <summary>Tokenizes and shards <paramref name="documents"/>; errors name <paramref name="displayPath"/> and the document's line.</summary>
    public static TokenizedCorpus Build(IEnumerable<CorpusDocument> documents, ITextTokenizer? tokenizer, CorpusOptions options,
        string displayPath, IReadOnlyList<VocabularyLimit>? limits = null, string? tokenizerName = null, CorpusErrors? errors = null)
    {
        errors ??= new CorpusErrors(displayPath);
        var sequences = new List<int[]>();
        var sequenceLines = new List<int>();
        int documentCount = 0;
        bool addBos = AddsBos(tokenizer);
        foreach (var (line, ids, fromText) in Documents(documents, tokenizer, options, limits ?? [], tokenizerName, errors, skipText: () => false))
        {
            if (errors.Count > 0) continue;   // keep reading to report every bad line, but keep nothing
            documentCount++;
            foreach (var chunk in Chunk(ids!, options.MaxTokens, fromText && addBos ? tokenizer!.BosId : null))
            {
                sequences.Add(chunk);
                sequenceLines.Add(line);
            }
        }
        Finish(errors, sequences.Count > 0);
        return Assemble(sequences, sequenceLines, documentCount, tokenizer, addBos, options);
    }

    /// <summary>Cuts sequences (in document order) into shards of <see cref="CorpusOptions.SequencesPerShard"/>, with their digests.</summary>
    private static TokenizedCorpus Assemble(List<int[]> sequences, List<int> sequenceLines, int documentCount, ITextTokenizer? tokenizer, bool addBos,
        CorpusOptions options)
    {
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
            BosId = addBos ? tokenizer!.BosId : null,
            SequenceLines = sequenceLines,
        };
    }

    private static (IEnumerable<CorpusDocument> Documents, ITextTokenizer? Tokenizer, CorpusOptions Options, IReadOnlyList<VocabularyLimit> Limits, CorpusErrors Errors)
        Open(JobSpec spec)
    {
        var corpus = spec.Corpus;
        var model = spec.TokenizerModel;
        ITextTokenizer? tokenizer = TokenizerLoader.HasTokenizer(model.Path) ? TokenizerLoader.Load(model.Path) : null;
        var limits = Limits(spec, model);
        var errors = new CorpusErrors(corpus.DisplayPath);
        var documents = CorpusReader.Stream(corpus.Path, corpus.Format, corpus.DisplayPath, corpus.MaxDocuments, corpus.InvalidUtf8, errors);
        return (documents, tokenizer, new CorpusOptions(corpus.MaxTokens, corpus.SequencesPerShard), limits, errors);
    }

    private static bool AddsBos(ITextTokenizer? tokenizer) => tokenizer is { AddsBosByDefault: true, BosId: not null };

    /// <summary>The vocab_size of every model that reads the tokenization of <paramref name="tokenizerModel"/>.</summary>
    private static List<VocabularyLimit> Limits(JobSpec spec, ModelSpec tokenizerModel) =>
        spec.Models.Where(m => spec.TokenizerModelOf(m.Name).Name == tokenizerModel.Name)
            .Select(m => new VocabularyLimit(m.Name, m.Descriptor.Config.VocabSize)).ToList();

    /// <summary>
    /// Every usable document's ids (null where <paramref name="skipText"/> says a text need not be tokenized), with
    /// whether they came from text; bad documents go to <paramref name="errors"/>. The one set of checks behind both
    /// <see cref="Build"/> and <see cref="Validate"/>. Documents with no tokens are skipped.
    /// </summary>
    private static IEnumerable<(int Line, int[]? Ids, bool FromText)> Documents(IEnumerable<CorpusDocument> documents, ITextTokenizer? tokenizer,
        CorpusOptions options, IReadOnlyList<VocabularyLimit> limits, string? tokenizerName, CorpusErrors errors, Func<bool> skipText)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.SequencesPerShard, 1);
        bool bosChecked = false;
        foreach (var doc in documents)
        {
            if (errors.Full) yield break;
            if (doc.Ids is not null)
            {
                if (doc.Ids.Length == 0) continue;
                if (CheckIds(doc.Ids, limits) is { } problem) { errors.Add(doc.Line, 0, problem); continue; }
                yield return (doc.Line, doc.Ids, false);
                continue;
            }
            if (tokenizer is null)
            {
                errors.Add(doc.Line, 0, $"a text document but model '{tokenizerName}' has no tokenizer files, expected \"ids\" or a corpus.tokenizer model with tokenizer.model, vocab.json + merges.txt or tokenizer.json");
                continue;
            }
            if (!bosChecked && AddsBos(tokenizer) && options.MaxTokens < 2)
                throw new JobValidationException([new JobError(errors.File, 0, 0,
                    $"max_tokens is {options.MaxTokens} but the tokenizer adds BOS to every sequence, expected max_tokens of at least 2")]);
            bosChecked = true;
            if (skipText()) { yield return (doc.Line, null, true); continue; }
            int[] ids = [.. tokenizer.Encode(doc.Text!, addBos: false)];
            if (ids.Length == 0) continue;
            if (CheckIds(ids, limits) is { } outOfRange) { errors.Add(doc.Line, 0, outOfRange); continue; }
            yield return (doc.Line, ids, true);
        }
    }

    private static void Finish(CorpusErrors errors, bool anyTokens)
    {
        if (errors.Count == 0 && !anyTokens)
            errors.Add(0, 0, "the corpus is empty: no document has any tokens, expected at least one non-blank line");
        errors.ThrowIfAny();
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

    /// <summary>How many sequences <see cref="Chunk"/> cuts <paramref name="length"/> ids into.</summary>
    private static int ChunkCount(int length, int maxTokens, bool bos)
    {
        int room = bos ? maxTokens - 1 : maxTokens;
        return (length + room - 1) / room;
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
