using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Analysis.Concepts;
using Sweep.Models.Tokenizers;
using Sweep.Tests.Common;
using Xunit;

namespace Sweep.Jobs.Tests.Corpus;

/// <summary>
/// A job with two models whose tokenizers differ — the real GPT-2 byte-level BPE and the real Llama 2 SentencePiece
/// model (../shared/fixtures): each model's corpus is its own tokenizer's, token-level pairs across them are refused at
/// validation, and <c>level: prompt</c> is accepted.
/// </summary>
public sealed class DifferentTokenizerTests : IDisposable
{
    private readonly JobDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private const string Documents = "Once upon a time there was a park.\nThe dog ran to the park on Monday.\nHello, world! Café au lait.\n";

    /// <summary>Models gpt2 and llama (tokenizer files from the fixtures) and corpus.txt; false when the fixtures are absent outside CI.</summary>
    private bool Setup()
    {
        if (Fixtures.TryGet("gpt2-tokenizer") is not { } gpt2 || Fixtures.TryGet("llama2-tokenizer") is not { } llama) return false;
        var a = _dir.Model("models/gpt2", vocabSize: 50257, tokenizer: false);
        foreach (var file in new[] { "vocab.json", "merges.txt" }) File.Copy(Path.Combine(gpt2, file), Path.Combine(a, file));
        var b = _dir.Model("models/llama", vocabSize: 32000, tokenizer: false);
        File.Copy(Path.Combine(llama, "tokenizer.model"), Path.Combine(b, "tokenizer.model"));
        _dir.File("corpus.txt", Documents);
        return true;
    }

    private static string Job(string analysis = "", int maxTokens = 64) => $"""
        version: 1
        name: two-tokenizers
        corpus:
          path: corpus.txt
          max_tokens: {maxTokens}
          sequences_per_shard: 2
        models:
          - name: gpt2
            path: models/gpt2
          - name: llama
            path: models/llama
        captures:
          - model: gpt2
            sites: [blocks.1.hook_resid_post]
          - model: llama
            sites: [blocks.1.hook_resid_post]
        analyses:
          - name: across
            kind: cka
        {analysis}
        execution:
          device: cpu
        """;

    private static int LineOf(string yaml, string text) => yaml.Split('\n').ToList().FindIndex(l => l.Contains(text)) + 1;

    [Fact]
    public void Each_model_reads_the_corpus_as_its_own_tokenizer_tokenizes_it_one_sequence_per_document()
    {
        if (!Setup()) return;
        var spec = _dir.Parse(Job("    level: prompt"));
        Assert.Equal(["gpt2", "llama"], spec.Tokenizations.Select(m => m.Name));
        Assert.False(spec.SharesTokenization("gpt2", "llama"));
        var all = CorpusLoader.LoadAll(spec);
        Assert.Equal(2, all.All.Count);
        var texts = Documents.TrimEnd('\n').Split('\n');
        foreach (var model in new[] { "gpt2", "llama" })
        {
            var tokenizer = TokenizerLoader.Load(spec.Model(model).Path);
            var corpus = all.Of(model);
            Assert.Equal(tokenizer.Digest, corpus.TokenizerDigest);
            var expected = texts.Select(t => (tokenizer.AddsBosByDefault && tokenizer.BosId is { } bos ? [bos] : Array.Empty<int>())
                .Concat(tokenizer.Encode(t, addBos: false)).ToArray()).ToList();
            Assert.Equal(expected, corpus.Shards.SelectMany(s => s.Sequences));
            Assert.Equal([1, 2, 3], corpus.SequenceLines);
            Assert.Equal([2, 1], corpus.Shards.Select(s => s.Sequences.Count));
        }
        // Different ids for the same text (GPT-2 and Llama 2 share no vocabulary), so different shard digests.
        Assert.NotEqual(all.Of("gpt2").Shards[0].Sequences[0], all.Of("llama").Shards[0].Sequences[0]);
        Assert.NotEqual(all.Of("gpt2").Digest, all.Of("llama").Digest);

        // Each model's capture keys name its own tokenizer and shards: the llama captures are those of a job of llama alone.
        var weights = new Dictionary<string, string> { ["gpt2"] = "weights-a", ["llama"] = "weights-b" };
        var plan = JobPlanner.Plan(spec, all, weights);
        var alone = _dir.Parse(Job().Replace("  - name: gpt2\n    path: models/gpt2\n", "").Replace("  - model: gpt2\n    sites: [blocks.1.hook_resid_post]\n", "")
            .Replace("analyses:\n  - name: across\n    kind: cka\n", "analyses: []\n"));
        Assert.Equal(["llama"], alone.Models.Select(m => m.Name));
        var aloneCorpus = CorpusLoader.Load(alone);
        Assert.Equal(aloneCorpus.Digest, all.Of("llama").Digest);
        Assert.Equal(JobPlanner.Plan(alone, aloneCorpus, weights).Captures.Select(c => c.Key),
            plan.Captures.Where(c => c.Model == "llama").Select(c => c.Key));
        Assert.Empty(plan.Captures.Where(c => c.Model == "gpt2").Select(c => c.Key).Intersect(plan.Captures.Where(c => c.Model == "llama").Select(c => c.Key)));
    }

    [Fact]
    public void A_token_level_analysis_between_models_with_different_tokenizers_is_one_error_naming_both_and_level_prompt()
    {
        if (!Setup()) return;
        var yaml = Job();
        var error = Assert.Single(_dir.Errors(yaml));
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "- name: across")}:5: analyses[0]: kind 'cka' compares sites token by token, but models 'gpt2' and 'llama' "
            + "have different tokenizers (each tokenizes the corpus itself, so their token rows are not the same tokens), expected level: prompt "
            + "(one row per prompt, reduce: last or mean) or pairs: within", error);
        // Within one model the tokens are the same: allowed at token level.
        var within = Job("    pairs: within").Replace("  - model: gpt2\n    sites: [blocks.1.hook_resid_post]", "  - model: gpt2\n    sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]");
        Assert.Equal(AnalysisLevel.Token, _dir.Parse(within).Analyses.Single().Level);
        var correlation = Job().Replace("kind: cka", "kind: correlation");
        Assert.Contains("kind 'correlation' compares sites token by token, but models 'gpt2' and 'llama'", Assert.Single(_dir.Errors(correlation)));
    }

    [Fact]
    public void Level_prompt_pairs_models_with_different_tokenizers_and_reduce_says_how_a_prompt_becomes_one_row()
    {
        if (!Setup()) return;
        var last = _dir.Parse(Job("    level: prompt")).Analyses.Single();
        Assert.Equal((AnalysisLevel.Prompt, Reduction.Last), (last.Level, last.Reduce));
        var mean = _dir.Parse(Job("    level: prompt\n    reduce: mean"));
        Assert.Equal((AnalysisLevel.Prompt, Reduction.Mean), (mean.Analyses.Single().Level, mean.Analyses.Single().Reduce));
        Assert.NotEqual(_dir.Parse(Job("    level: prompt")).Digest, mean.Digest);
        var yaml = Job("    reduce: mean");
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "reduce: mean")}:13: analyses[0].reduce says how a prompt becomes one row, but the analysis is at level token, "
            + "expected level: prompt beside it (or no reduce)", Assert.Single(_dir.Errors(yaml)));
        Assert.Contains("analyses[0].level", Assert.Single(_dir.Errors(Job("    level: sentence"))));
    }

    [Fact]
    public void A_document_longer_than_max_tokens_under_either_tokenizer_is_an_error_at_its_line()
    {
        if (!Setup()) return;
        var spec = _dir.Parse(Job("    level: prompt", maxTokens: 10));
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.LoadAll(spec));
        // Line 3 is 11 Llama 2 tokens with BOS (GPT-2: fewer, no BOS); the other lines fit both.
        Assert.EndsWith(":3: the document is 11 tokens with the tokenizer of model 'llama' (BOS included), more than corpus.max_tokens 10; with models "
            + "of different tokenizers each document is one sequence, not cut, so that every model reads the same text: expected a larger corpus.max_tokens "
            + "or a shorter document", Assert.Single(e.Errors).ToString());
    }
}
