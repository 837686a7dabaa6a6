using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Tests.Corpus;

/// <summary>Labelled jsonl corpora (<c>corpus.labels</c>): labels travel with every sequence; mistakes name file, line and column.</summary>
public sealed class CorpusLabelTests
{
    private static string Job(string corpusPath, string labels, int maxTokens = 16) => JobDirectory.ValidJob
        .Replace("path: corpus.txt", $"path: {corpusPath}")
        .Replace("max_tokens: 16", $"max_tokens: {maxTokens}\n  labels: {labels}");

    private const string Prompts = """
        {"text": "Today is Monday", "label": "monday", "group": "day"}

        {"text": "We met in May", "label": "may", "group": "month"}
        {"ids": [5, 6, 7], "group": "day", "label": "monday"}
        {"text": "Nothing special", "label": "neutral", "group": "none", "note": 3}
        """;

    [Fact]
    public void Every_sequence_carries_its_documents_labels_and_an_index_groups_them_in_order_of_first_appearance()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        var spec = dir.Parse(Job("prompts.jsonl", "[label, group]"));
        Assert.Equal(["label", "group"], spec.Corpus.Labels);
        var corpus = CorpusLoader.Load(spec);

        Assert.Equal([1, 3, 4, 5], corpus.SequenceLines);
        var labels = corpus.Labels!;
        Assert.Equal(["label", "group"], labels.Fields);
        Assert.Equal(["monday", "may", "monday", "neutral"], Enumerable.Range(0, 4).Select(s => labels.Value(s, "label")));
        Assert.Equal("month", labels.Value(1, "group"));
        var (names, bySequence) = labels.Index("label");
        Assert.Equal(["monday", "may", "neutral"], names);
        Assert.Equal([0, 1, 0, 2], bySequence);
        Assert.Equal(["day", "month", "none"], labels.Index("group").Names);
        Assert.Throws<ArgumentException>(() => labels.Index("colour"));
    }

    [Fact]
    public void The_labels_digest_follows_the_labels_while_the_corpus_digest_follows_only_the_tokens()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        var first = CorpusLoader.Load(dir.Parse(Job("prompts.jsonl", "[label]")));
        dir.File("prompts.jsonl", Prompts.Replace("\"label\": \"may\"", "\"label\": \"june\""));
        var relabelled = CorpusLoader.Load(dir.Parse(Job("prompts.jsonl", "[label]")));
        Assert.Equal(first.Digest, relabelled.Digest);
        Assert.NotEqual(first.Labels!.Digest, relabelled.Labels!.Digest);
        Assert.Null(CorpusLoader.Load(dir.Parse(Job("prompts.jsonl", "[label]").Replace("\n  labels: [label]", ""))).Labels);
    }

    [Fact]
    public void A_document_without_a_named_label_field_is_reported_at_the_first_such_line_with_how_many_more()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        var spec = dir.Parse(Job("prompts.jsonl", "[label, topic]"));
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec));
        Assert.Equal(
            [$"{spec.Corpus.DisplayPath}:1:1: the document has no label field \"topic\" (named in corpus.labels), expected a string \"topic\" in every document; 3 more documents lack it"],
            e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void A_label_that_is_not_a_non_empty_string_is_reported_at_its_column()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        var spec = dir.Parse(Job("prompts.jsonl", "[label, note]"));
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec));
        var file = spec.Corpus.DisplayPath;
        Assert.Equal(
        [
            $"{file}:1:1: the document has no label field \"note\" (named in corpus.labels), expected a string \"note\" in every document; 2 more documents lack it",
            $"{file}:5:74: label field \"note\" is a JSON number, expected a string",
        ], e.Errors.Select(x => x.ToString()));

        dir.File("prompts.jsonl", "{\"text\": \"a b\", \"label\": \"\"}\n{\"text\": \"é\", \"label\": [\"x\"]}\n");
        e = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(dir.Parse(Job("prompts.jsonl", "[label]"))));
        Assert.Equal(
        [
            $"{file}:1:26: label field \"label\" is an empty string, expected a non-empty string",
            $"{file}:2:24: label field \"label\" is a JSON array, expected a string",
        ], e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void A_labelled_document_longer_than_one_sequence_is_refused_since_a_prompt_is_one_sequence()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", "{\"ids\": [5, 6, 7, 8, 9], \"label\": \"a\"}\n{\"ids\": [5, 6], \"label\": \"b\"}\n");
        var spec = dir.Parse(Job("prompts.jsonl", "[label]", maxTokens: 4));
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec));
        Assert.Equal(
            [$"{spec.Corpus.DisplayPath}:1:1: the labelled document is cut into 2 sequences by corpus.max_tokens 4, expected each labelled document (one prompt) to fit one sequence; raise corpus.max_tokens or shorten the document"],
            e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void Labels_on_a_txt_corpus_and_malformed_field_lists_are_errors_at_their_key()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        Assert.Equal(
            ["jobs.yaml:6:11: corpus.labels is set but the corpus is a txt file, whose lines carry no labels; expected a jsonl corpus with the label fields in every document"],
            dir.Errors(Job("corpus.txt", "[label]")));
        Assert.Equal(
        [
            "jobs.yaml:6:19: corpus.labels[1] 'text' is the document's content, expected a field that labels it",
            "jobs.yaml:6:25: corpus.labels[2] 'label' is listed twice, expected each field once",
            "jobs.yaml:6:32: corpus.labels[3] 'a b' is not a valid field name, expected a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)",
        ], dir.Errors(Job("prompts.jsonl", "[label, text, label, 'a b']")));
        Assert.Equal(["jobs.yaml:6:11: corpus.labels is an empty list, expected a list of the JSON fields that label each document, e.g. [label] or [label, group]"],
            dir.Errors(Job("prompts.jsonl", "[]")));
    }

    [Fact]
    public void Naming_labels_changes_the_job_digest_and_leaving_them_out_keeps_the_old_one()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts);
        var plain = dir.Parse(JobDirectory.ValidJob.Replace("path: corpus.txt", "path: prompts.jsonl"));
        var labelled = dir.Parse(Job("prompts.jsonl", "[label]"));
        Assert.DoesNotContain("corpus.labels", plain.CanonicalText);
        Assert.Contains("corpus.labels: label\n", labelled.CanonicalText);
        Assert.NotEqual(plain.Digest, labelled.Digest);
    }

    [Fact]
    public void Validation_reports_the_label_errors_a_run_would_raise_without_keeping_the_sequences()
    {
        using var dir = JobDirectory.Standard();
        dir.File("prompts.jsonl", Prompts + "\n{\"text\": \"a much longer prompt than eight tokens can hold, surely\", \"group\": \"x\"}\n");
        var spec = dir.Parse(Job("prompts.jsonl", "[label]", maxTokens: 8));
        var load = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec)).Errors.Select(e => e.ToString()).ToList();
        var validate = Assert.Throws<JobValidationException>(() => CorpusLoader.Validate(spec)).Errors.Select(e => e.ToString()).ToList();
        Assert.Equal(load, validate);
        Assert.Contains(validate, e => e.Contains(":6:1: the document has no label field \"label\""));
        Assert.Contains(validate, e => e.Contains(":6:1: the labelled document is cut into "));
    }

    [Fact]
    public void Lines_end_where_file_readlines_ends_them_so_labels_stay_on_their_documents()
    {
        using var dir = JobDirectory.Standard();
        // A lone carriage return ends a line, as a CRLF does: three documents on lines 1, 2 and 3.
        dir.File("prompts.jsonl", "{\"ids\": [1], \"label\": \"a\"}\r{\"ids\": [2], \"label\": \"b\"}\r\n{\"ids\": [3], \"label\": \"c\"}");
        var corpus = CorpusLoader.Load(dir.Parse(Job("prompts.jsonl", "[label]")));
        Assert.Equal([1, 2, 3], corpus.SequenceLines);
        Assert.Equal(["a", "b", "c"], Enumerable.Range(0, 3).Select(s => corpus.Labels!.Value(s, "label")));
    }
}
