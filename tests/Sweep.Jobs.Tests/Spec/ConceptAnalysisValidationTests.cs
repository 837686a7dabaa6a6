using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>
/// The concept kinds' validation errors, each at its key's line and column: what the job alone says is wrong when it is
/// loaded (an unlabelled corpus, a label field the corpus does not have, a marker without its reduction or tokenizer,
/// decoder rows of a dense site), and what only the corpus can tell once it is read (a baseline, order entry or excluded
/// label that no prompt carries), as <c>sweep validate</c> and every run check it.
/// </summary>
public sealed class ConceptAnalysisValidationTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public ConceptAnalysisValidationTests()
    {
        _dir.Model("models/bare", tokenizer: false);
        _dir.File("prompts.jsonl", """
            {"text": "we meet on Monday", "label": "monday", "group": "day"}
            {"text": "the market opens on Tuesday", "label": "tuesday", "group": "day"}
            {"text": "we meet at noon", "label": "neutral", "group": "neutral"}
            {"text": "see you on Monday then", "label": "monday", "group": "day"}

            """);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>A job on tiny-a's captures; <paramref name="corpus"/> is the corpus section's body, <paramref name="analyses"/> the list.</summary>
    private static string Job(string analyses, string corpus = "  path: prompts.jsonl\n  labels: [label, group]") => $"""
        version: 1
        name: concepts
        corpus:
        {corpus}
          max_tokens: 48
        models:
          - name: tiny-a
            path: models/tiny-a
          - name: bare
            path: models/bare
        captures:
          - model: tiny-a
            sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]
        analyses:
        {analyses}
        execution:
          device: cpu
        output:
          store: out/store
        """;

    /// <summary>"jobs.yaml:LINE:COL" of the first line containing <paramref name="text"/>, the column where <paramref name="text"/> starts plus <paramref name="offset"/>.</summary>
    private static string At(string yaml, string text, int offset = 0)
    {
        var lines = yaml.Split('\n');
        int line = Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal));
        Assert.True(line >= 0, $"no line contains {text}");
        return $"jobs.yaml:{line + 1}:{lines[line].IndexOf(text, StringComparison.Ordinal) + 1 + offset}";
    }

    [Fact]
    public void A_concept_kind_on_an_unlabelled_corpus_is_an_error_at_reduce_or_else_at_kind_naming_corpus_labels()
    {
        _dir.File("plain.jsonl", "{\"text\": \"we meet on Monday\"}\n");
        var yaml = Job("""
              - name: means
                kind: concept_means
                reduce: mean
              - name: circle
                kind: pca
            """, corpus: "  path: plain.jsonl");
        var errors = _dir.Errors(yaml);
        Assert.Equal(
        [
            $"{At(yaml, "reduce: mean", 8)}: analyses[0].reduce is mean, which groups prompts by label, but the corpus is unlabelled; expected corpus.labels naming the jsonl fields that label each document (docs/jobs.md, \"Labels\")",
            $"{At(yaml, "pca")}: analyses[1].reduce is last, which groups prompts by label, but the corpus is unlabelled; expected corpus.labels naming the jsonl fields that label each document (docs/jobs.md, \"Labels\")",
        ], errors);
    }

    [Fact]
    public void A_PCA_of_decoder_rows_needs_no_labels_but_an_SAE_site()
    {
        var yaml = Job("""
              - name: decoder
                kind: pca
                source: decoder
            """);
        Assert.Equal([$"{At(yaml, "source: decoder", 8)}: analyses[0].source is decoder, which decomposes an SAE's decoder rows, expected sites: sae (or source: label_means or sample)"],
            _dir.Errors(yaml));
    }

    [Fact]
    public void A_label_field_the_corpus_does_not_label_is_an_error_at_label_field_listing_the_fields()
    {
        var yaml = Job("""
              - name: means
                kind: concept_means
                label_field: topic
            """);
        Assert.Equal([$"{At(yaml, "topic")}: analyses[0].label_field is 'topic', which is not a label field of the corpus, expected one of: label, group (corpus.labels)"], _dir.Errors(yaml));
    }

    [Fact]
    public void A_marker_needs_reduce_marker_and_reduce_marker_needs_a_marker_and_a_tokenizer()
    {
        var yaml = Job("""
              - name: stray
                kind: selectivity
                reduce: last
                marker: " on"
              - name: missing
                kind: contrast
                reduce: marker
            """);
        var errors = _dir.Errors(yaml);
        Assert.Equal(
        [
            $"{At(yaml, "\" on\"")}: analyses[0].marker is set but reduce is last, expected reduce: marker (or no marker)",
            $"{At(yaml, "contrast")}: analyses[1].marker is missing, expected the marker text with reduce: marker, e.g. marker: \" Monday\"",
        ], errors);

        var untokenized = Job("""
              - name: on-marker
                kind: contrast
                reduce: marker
                marker: " on"
            """, corpus: "  path: prompts.jsonl\n  labels: [label]\n  tokenizer: bare").Replace("path: prompts.jsonl", "path: ids.jsonl");
        _dir.File("ids.jsonl", "{\"ids\": [1, 2, 3], \"label\": \"a\"}\n{\"ids\": [4, 5], \"label\": \"b\"}\n");
        Assert.Equal(
            [$"{At(untokenized, "\" on\"")}: analyses[0].marker is \" on\", but the marker reduction needs the corpus tokenizer to find its tokens and model 'bare' has no tokenizer files; expected corpus.tokenizer naming a model with tokenizer files, or reduce: last, mean or every"],
            _dir.Errors(untokenized));
    }

    [Fact]
    public void A_baseline_order_entry_or_excluded_label_that_no_prompt_carries_is_an_error_at_its_key_once_the_corpus_is_read()
    {
        var yaml = Job("""
              - name: against
                kind: contrast
                baseline: netural
              - name: circle
                kind: pca
                order: [monday, tuesday, wednesday]
              - name: specialists
                kind: selectivity
                label_field: group
                exclude: [neutral, month]
            """);
        var spec = _dir.Parse(yaml);   // the job alone is valid: only the corpus knows its labels
        var errors = Assert.Throws<JobValidationException>(() => CorpusLoader.Validate(spec)).Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(
        [
            $"{At(yaml, "netural")}: analyses[0].baseline is 'netural', a label that does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral (or rest)",
            $"{At(yaml, "wednesday")}: analyses[1].order[2] is 'wednesday', a label that does not occur in the corpus's 'label' field, expected one of: monday, tuesday, neutral",
            $"{At(yaml, "month")}: analyses[2].exclude[1] is 'month', a label that does not occur in the corpus's 'group' field, expected one of: day, neutral",
        ], errors);
        // A run loads the corpus through the same check.
        Assert.Equal(errors, Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec)).Errors.Select(e => e.ToString()));

        var fixedYaml = yaml.Replace("netural", "neutral").Replace(", wednesday", "").Replace(", month", "");
        Assert.Equal(4, CorpusLoader.Validate(_dir.Parse(fixedYaml)).Documents);
    }
}
