using Sweep.Analysis.Measures;
using Sweep.Jobs.Corpus;
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

    /// <summary>
    /// What the analyses' measures find wrong with the corpus once it is read — a <c>baseline</c>, <c>order</c> entry or
    /// excluded label that no prompt carries — each at its key's line and column in the job file (the checks that need
    /// only the job ran when it was loaded). <c>sweep validate</c> and every run check it before any work starts.
    /// </summary>
    public static IReadOnlyList<JobError> CheckLabels(JobSpec spec, CorpusLabels? labels)
    {
        if (labels is null) return [];
        var values = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        IReadOnlyList<string> ValuesOf(string field) => values.TryGetValue(field, out var known) ? known : values[field] = labels.Index(field).Names;
        var facts = new CorpusFacts(labels.Fields, spec.Corpus.Tokenizer, Models.Tokenizers.TokenizerLoader.HasTokenizer(spec.TokenizerModel.Path), ValuesOf);
        var errors = new List<JobError>();
        for (int i = 0; i < spec.Analyses.Count; i++)
        {
            var analysis = spec.Analyses[i];
            foreach (var problem in analysis.Measure.CheckCorpus(analysis.Parameters, facts))
            {
                var marks = analysis.Marks;
                var (line, column) = marks.TryGetValue(problem.Key, out var at) ? at
                    : marks.TryGetValue(problem.Key.Split('[')[0], out var key) ? key
                    : marks.TryGetValue("kind", out var kind) ? kind : (0, 0);
                errors.Add(new JobError(spec.File, line, column, $"analyses[{i}].{problem.Key} {problem.Message}"));
            }
        }
        return errors;
    }
}
