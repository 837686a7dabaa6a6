using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Corpus;

/// <summary>
/// The labels of a labelled corpus (<c>corpus.labels</c>, docs/jobs.md "Labels"): for every corpus-wide sequence (a
/// shard's <c>seq</c>) the string value of each label field of its document, in <see cref="Fields"/> order. A labelled
/// document is one prompt and must fit one sequence, so every sequence carries exactly its own document's labels.
/// <see cref="Digest"/> (SHA-256 over the fields and every sequence's values) names them: the corpus digest covers only
/// the tokens — captures do not depend on labels — so anything computed per label must add this digest to its key.
/// </summary>
public sealed class CorpusLabels
{
    private const int MaxReportedErrors = 20;

    public IReadOnlyList<string> Fields { get; }

    /// <summary>Per sequence, its values in <see cref="Fields"/> order.</summary>
    public IReadOnlyList<string[]> BySequence { get; }

    public string Digest { get; }

    public CorpusLabels(IReadOnlyList<string> fields, IReadOnlyList<string[]> bySequence)
    {
        if (fields.Count == 0) throw new ArgumentException("no label fields");
        if (bySequence.Any(v => v.Length != fields.Count)) throw new ArgumentException($"every sequence needs {fields.Count} label values");
        Fields = fields;
        BySequence = bySequence;
        var text = new StringBuilder("sweep.labels\n").Append(string.Join("\t", fields)).Append('\n');
        foreach (var values in bySequence) text.Append(string.Join("\t", values.Select(v => v.Replace("\\", "\\\\").Replace("\t", "\\t").Replace("\n", "\\n")))).Append('\n');
        Digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    public int SequenceCount => BySequence.Count;

    public string Value(int seq, string field) => BySequence[seq][FieldIndex(field)];

    /// <summary>
    /// The values of <paramref name="field"/> in order of first appearance in the corpus, and per sequence the index of its
    /// value among them — what an analysis groups prompts by (<c>Sweep.Analysis.Concepts.LabelIndex</c>).
    /// </summary>
    public (IReadOnlyList<string> Names, int[] LabelOfSequence) Index(string field)
    {
        int f = FieldIndex(field);
        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var bySequence = new int[BySequence.Count];
        for (int s = 0; s < BySequence.Count; s++)
        {
            var value = BySequence[s][f];
            if (!index.TryGetValue(value, out int l)) { l = names.Count; index[value] = l; names.Add(value); }
            bySequence[s] = l;
        }
        return (names, bySequence);
    }

    private int FieldIndex(string field)
    {
        for (int f = 0; f < Fields.Count; f++) if (Fields[f] == field) return f;
        throw new ArgumentException($"'{field}' is not a label field of the corpus, expected one of: {string.Join(", ", Fields)}");
    }

    /// <summary>
    /// Reads the label fields of every document that gave <paramref name="corpus"/> a sequence (its lines are
    /// <see cref="TokenizedCorpus.SequenceLines"/>) from the jsonl file. Errors name the corpus file and line: a document
    /// that lacks a field (the first such document per field, with how many more), a value that is not a non-empty string
    /// (at its column), and a document cut into several sequences (a prompt must fit <c>max_tokens</c>).
    /// </summary>
    public static CorpusLabels Read(string path, string displayPath, IReadOnlyList<string> fields, TokenizedCorpus corpus, int maxTokens) =>
        Read(path, displayPath, fields, corpus.SequenceLines, maxTokens);

    /// <summary>The same from the corpus file line of every sequence (what <c>sweep validate</c> knows without keeping the sequences).</summary>
    public static CorpusLabels Read(string path, string displayPath, IReadOnlyList<string> fields, IReadOnlyList<int> sequenceLines, int maxTokens)
    {
        var errors = new List<JobError>();
        var wanted = new HashSet<int>(sequenceLines);
        var byLine = new Dictionary<int, string[]>();
        var missing = fields.ToDictionary(f => f, _ => (First: 0, More: 0));
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (!wanted.Contains(lineNo)) continue;
            var values = new string?[fields.Count];
            var present = new bool[fields.Count];
            foreach (var (field, value, column, problem) in LabelFields(line, fields))
            {
                int f = fields.ToList().IndexOf(field);
                if (present[f]) continue;   // a repeated member: the first one counts
                present[f] = true;
                if (problem is not null) errors.Add(new JobError(displayPath, lineNo, column, $"label field \"{field}\" {problem}"));
                else values[f] = value;
            }
            for (int f = 0; f < fields.Count; f++)
            {
                if (present[f]) continue;
                var (first, more) = missing[fields[f]];
                missing[fields[f]] = first == 0 ? (lineNo, 0) : (first, more + 1);
            }
            byLine[lineNo] = values!;
        }
        foreach (var (field, (first, more)) in missing.Where(m => m.Value.First > 0))
            errors.Add(new JobError(displayPath, first, 1,
                $"the document has no label field \"{field}\" (named in corpus.labels), expected a string \"{field}\" in every document" +
                (more > 0 ? $"; {more} more documents lack it" : "")));

        // A prompt is one sequence: a labelled document that max_tokens cuts in pieces is refused.
        foreach (var split in sequenceLines.GroupBy(l => l).Where(g => g.Count() > 1))
            errors.Add(new JobError(displayPath, split.Key, 1,
                $"the labelled document is cut into {split.Count()} sequences by corpus.max_tokens {maxTokens}, expected each labelled document " +
                "(one prompt) to fit one sequence; raise corpus.max_tokens or shorten the document"));

        if (errors.Count > 0)
        {
            var sorted = errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
            if (sorted.Count > MaxReportedErrors)
                sorted = [.. sorted.Take(MaxReportedErrors), new JobError(displayPath, 0, 0, $"{sorted.Count - MaxReportedErrors} more label errors not shown")];
            throw new JobValidationException(sorted);
        }
        return new CorpusLabels(fields, [.. sequenceLines.Select(l => byLine[l])]);
    }

    /// <summary>
    /// The top-level members of a JSON object line named in <paramref name="fields"/>: each with its string value, or the
    /// 1-based column of its value and what is wrong with it.
    /// </summary>
    private static IEnumerable<(string Field, string? Value, int Column, string? Problem)> LabelFields(string line, IReadOnlyList<string> fields)
    {
        var bytes = Encoding.UTF8.GetBytes(line);
        var found = new List<(string, string?, int, string?)>();
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return found;   // CorpusReader reports non-objects
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                reader.Read();
                int column = Encoding.UTF8.GetCharCount(bytes, 0, (int)reader.TokenStartIndex) + 1;
                if (fields.Contains(name))
                    found.Add(reader.TokenType switch
                    {
                        JsonTokenType.String when reader.GetString() is { Length: > 0 } value => (name, value, column, null),
                        JsonTokenType.String => (name, null, column, "is an empty string, expected a non-empty string"),
                        _ => (name, null, column, $"is a JSON {Describe(reader.TokenType)}, expected a string"),
                    });
                reader.Skip();
            }
        }
        catch (JsonException) { }   // CorpusReader has reported the line already
        return found;
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString().ToLowerInvariant(),
    };
}
