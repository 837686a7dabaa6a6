using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

public static partial class JobLoader
{
    private const string LabelFieldExpected = "a list of the JSON fields that label each document, e.g. [label] or [label, group]";

    /// <summary>
    /// <c>corpus.labels</c>: the names of the string fields of every jsonl document that label it (docs/jobs.md, "Labels").
    /// Each must be a name (as job names are), once, and neither <c>text</c> nor <c>ids</c>; a txt corpus has no fields to name.
    /// </summary>
    private static IReadOnlyList<string>? ReadCorpusLabels(YamlSection corpus, CorpusFormat? format, ErrorSink errors)
    {
        if (corpus["labels"] is not { } node) return [];
        if (node is not YamlSequenceNode list || list.Children.Count == 0)
        {
            errors.At(node, $"corpus.labels is {(node is YamlSequenceNode ? "an empty list" : ErrorSink.Describe(node))}, expected {LabelFieldExpected}");
            return null;
        }
        if (format == CorpusFormat.Txt)
        {
            errors.At(node, "corpus.labels is set but the corpus is a txt file, whose lines carry no labels; expected a jsonl corpus with the label fields in every document");
            return null;
        }
        var fields = new List<string>();
        bool ok = true;
        for (int i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            string path = $"corpus.labels[{i}]";
            if (errors.String(item, path, "the name of a JSON field") is not { } field) { ok = false; continue; }
            string? problem = !NamePattern().IsMatch(field) ? $"is not a valid field name, expected {NameExpected}"
                : field is "text" or "ids" ? "is the document's content, expected a field that labels it"
                : fields.Contains(field) ? "is listed twice, expected each field once"
                : null;
            if (problem is not null) { errors.At(item, $"{path} '{field}' {problem}"); ok = false; continue; }
            fields.Add(field);
        }
        return ok ? fields : null;
    }
}
