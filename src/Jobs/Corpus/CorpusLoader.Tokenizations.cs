using Sweep.Jobs.Spec;
using Sweep.Models.Tokenizers;

namespace Sweep.Jobs.Corpus;

/// <summary>
/// A corpus for models with different tokenizers (docs/jobs.md, "Models with different tokenizers"). Each tokenizer the
/// job's models use (<see cref="JobSpec.Tokenizations"/>) tokenizes every document itself, and the tokenizations are
/// kept aligned by document:
/// <list type="bullet">
/// <item>every document is one sequence in every tokenization (BOS first when that tokenizer adds it), never cut: a
/// document longer than <c>max_tokens</c> under some tokenizer is an error at its line (cut at different places, the
/// models would no longer read the same text);</item>
/// <item>a document that gives no token under some tokenizer is skipped by all, so a document has the same corpus-wide
/// sequence index in every tokenization, and shards (cut by sequence count) hold the same documents;</item>
/// <item><c>ids</c> documents are refused: ids are one tokenizer's;</item>
/// <item>each tokenization's ids are checked against the vocab_size of the models that read it.</item>
/// </list>
/// When every document fits, the corpus tokenizer's tokenization is exactly what a job of its models alone makes
/// (one sequence per document either way), so its shard digests, and every key built on them, are the same.
/// </summary>
public static partial class CorpusLoader
{
    /// <summary>One tokenizer of a job with several: the model whose files define it, the tokenizer, and the vocab_size of each model reading it.</summary>
    private sealed record Tokenization(ModelSpec Model, ITextTokenizer Tokenizer, IReadOnlyList<VocabularyLimit> Limits)
    {
        public bool AddsBos => CorpusLoader.AddsBos(Tokenizer);
    }

    /// <summary>Every tokenization the job's models read (one when they share a tokenizer), each model mapped to its own.</summary>
    public static CorpusTokenizations LoadAll(JobSpec spec)
    {
        if (spec.Tokenizations.Count == 1) return CorpusTokenizations.Shared(LoadShared(spec), spec.Models.Select(m => m.Name));
        var (documents, tokenizations, options, errors) = OpenAll(spec);
        var sequences = tokenizations.Select(_ => new List<int[]>()).ToList();
        var lines = new List<int>();
        foreach (var (line, ids) in EveryTokenization(documents, tokenizations, options, errors))
        {
            if (errors.Count > 0) continue;   // keep reading to report every bad line, but keep nothing
            for (int g = 0; g < tokenizations.Count; g++) sequences[g].Add(ids[g]);
            lines.Add(line);
        }
        Finish(errors, lines.Count > 0);
        var all = tokenizations.Select((t, g) => Assemble(sequences[g], lines, lines.Count, t.Tokenizer, t.AddsBos, options)).ToList();
        var corpus = spec.Corpus;
        if (corpus.Labels.Count > 0)
        {
            // One sequence per document in every tokenization: the same lines, so the same labels.
            var labels = CorpusLabels.Read(corpus.Path, corpus.DisplayPath, corpus.Labels, all[0], corpus.MaxTokens);
            all = all.Select(c => c with { Labels = labels }).ToList();
        }
        var byTokenizerModel = tokenizations.Select((t, g) => (t.Model.Name, Corpus: all[g])).ToDictionary(x => x.Name, x => x.Corpus);
        return new CorpusTokenizations(all, spec.Models.ToDictionary(m => m.Name, m => byTokenizerModel[spec.TokenizerModelOf(m.Name).Name]));
    }

    /// <summary>The checks of <see cref="LoadAll"/>, streaming: every document is tokenized by every tokenizer, nothing kept but one line per document of a labelled corpus.</summary>
    private static CorpusSummary ValidateAll(JobSpec spec)
    {
        var (documents, tokenizations, options, errors) = OpenAll(spec);
        var lines = new List<int>();
        int count = 0;
        foreach (var (line, _) in EveryTokenization(documents, tokenizations, options, errors))
        {
            count++;
            if (spec.Corpus.Labels.Count > 0) lines.Add(line);
        }
        Finish(errors, count > 0);
        if (spec.Corpus.Labels.Count > 0) CorpusLabels.Read(spec.Corpus.Path, spec.Corpus.DisplayPath, spec.Corpus.Labels, lines, spec.Corpus.MaxTokens);
        return new CorpusSummary(count);
    }

    private static (IEnumerable<CorpusDocument> Documents, IReadOnlyList<Tokenization> Tokenizations, CorpusOptions Options, CorpusErrors Errors) OpenAll(JobSpec spec)
    {
        var corpus = spec.Corpus;
        var tokenizations = spec.Tokenizations.Select(model => new Tokenization(model,
            TokenizerLoader.HasTokenizer(model.Path) ? TokenizerLoader.Load(model.Path)
                : throw new JobValidationException([new JobError(corpus.DisplayPath, 0, 0,
                    $"model '{model.Name}' tokenizes the corpus for its own tokenization but has no tokenizer files in {model.Path}")]),
            Limits(spec, model))).ToList();
        var errors = new CorpusErrors(corpus.DisplayPath);
        var documents = CorpusReader.Stream(corpus.Path, corpus.Format, corpus.DisplayPath, corpus.MaxDocuments, corpus.InvalidUtf8, errors);
        foreach (var t in tokenizations.Where(t => t.AddsBos && corpus.MaxTokens < 2))
            throw new JobValidationException([new JobError(corpus.DisplayPath, 0, 0,
                $"max_tokens is {corpus.MaxTokens} but the tokenizer of model '{t.Model.Name}' adds BOS to every sequence, expected max_tokens of at least 2")]);
        return (documents, tokenizations, new CorpusOptions(corpus.MaxTokens, corpus.SequencesPerShard), errors);
    }

    /// <summary>
    /// Each usable document's line and its one sequence in every tokenization (in <paramref name="tokenizations"/>' order);
    /// bad documents go to <paramref name="errors"/>, documents without a token in some tokenization are skipped.
    /// </summary>
    private static IEnumerable<(int Line, int[][] Ids)> EveryTokenization(IEnumerable<CorpusDocument> documents, IReadOnlyList<Tokenization> tokenizations,
        CorpusOptions options, CorpusErrors errors)
    {
        foreach (var doc in documents)
        {
            if (errors.Full) yield break;
            if (doc.Ids is not null)
            {
                errors.Add(doc.Line, 0, $"a pre-tokenized document (\"ids\"), but the job's models have different tokenizers "
                    + $"({string.Join(", ", tokenizations.Select(t => $"'{t.Model.Name}'"))}) and ids are one tokenizer's; expected \"text\", which each tokenizer tokenizes itself");
                continue;
            }
            var sequences = new int[tokenizations.Count][];
            bool keep = true;
            for (int g = 0; g < tokenizations.Count && keep; g++)
            {
                var t = tokenizations[g];
                int[] ids = [.. t.Tokenizer.Encode(doc.Text!, addBos: false)];
                if (ids.Length == 0) { keep = false; break; }
                int length = ids.Length + (t.AddsBos ? 1 : 0);
                if (length > options.MaxTokens)
                {
                    errors.Add(doc.Line, 0, $"the document is {length} tokens with the tokenizer of model '{t.Model.Name}'{(t.AddsBos ? " (BOS included)" : "")}, "
                        + $"more than corpus.max_tokens {options.MaxTokens}; with models of different tokenizers each document is one sequence, not cut, "
                        + "so that every model reads the same text: expected a larger corpus.max_tokens or a shorter document");
                    keep = false;
                    break;
                }
                if (CheckIds(ids, t.Limits) is { } outOfRange) { errors.Add(doc.Line, 0, outOfRange); keep = false; break; }
                sequences[g] = t.AddsBos ? [t.Tokenizer.BosId!.Value, .. ids] : ids;
            }
            if (keep) yield return (doc.Line, sequences);
        }
    }
}
