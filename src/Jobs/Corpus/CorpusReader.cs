using System.Text.Json;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Corpus;

/// <summary>One document of a corpus: text to tokenize, or token ids given as is. <see cref="Line"/> is 1-based.</summary>
public sealed record CorpusDocument(int Line, string? Text, int[]? Ids);

/// <summary>
/// Reads corpus files. <c>.txt</c>: one document per line, blank lines skipped. <c>.jsonl</c>: one JSON object
/// per line with a string <c>text</c> or an array <c>ids</c> of non-negative integers (other fields are ignored),
/// blank lines skipped. Every bad line is reported, as <c>FILE:LINE: ...</c>.
/// </summary>
public static class CorpusReader
{
    private const int MaxReportedErrors = 20;

    /// <summary>The documents of <paramref name="path"/>, at most <paramref name="maxDocuments"/>; errors name <paramref name="displayPath"/>.</summary>
    public static IReadOnlyList<CorpusDocument> Read(string path, CorpusFormat format, string displayPath, int? maxDocuments = null)
    {
        if (!File.Exists(path))
            throw new JobValidationException([new JobError(displayPath, 0, 0, "corpus file not found, expected a .txt or .jsonl file")]);
        var documents = new List<CorpusDocument>();
        var errors = new List<JobError>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (documents.Count >= maxDocuments) break;
            if (string.IsNullOrWhiteSpace(line)) continue;
            if (format == CorpusFormat.Txt) documents.Add(new CorpusDocument(lineNo, line, null));
            else if (ParseJsonLine(line, lineNo, displayPath, errors) is { } doc) documents.Add(doc);
        }
        if (errors.Count > MaxReportedErrors)
        {
            int more = errors.Count - MaxReportedErrors;
            errors = [.. errors.Take(MaxReportedErrors), new JobError(displayPath, 0, 0, $"{more} more bad lines not shown")];
        }
        if (errors.Count > 0) throw new JobValidationException(errors);
        return documents;
    }

    private static CorpusDocument? ParseJsonLine(string line, int lineNo, string file, List<JobError> errors)
    {
        const string expected = "expected a JSON object with a string \"text\" or an array \"ids\" of token ids";
        JsonDocument json;
        try { json = JsonDocument.Parse(line); }
        catch (JsonException e)
        {
            errors.Add(new JobError(file, lineNo, (int)(e.BytePositionInLine ?? 0) + 1, $"not valid JSON, {expected}"));
            return null;
        }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { errors.Add(new JobError(file, lineNo, 1, $"a JSON {root.ValueKind.ToString().ToLowerInvariant()}, {expected}")); return null; }
            bool hasText = root.TryGetProperty("text", out var text);
            bool hasIds = root.TryGetProperty("ids", out var ids);
            if (hasText == hasIds)
            {
                errors.Add(new JobError(file, lineNo, 1, hasText ? $"both \"text\" and \"ids\", {expected}, not both" : $"no \"text\" or \"ids\" field, {expected}"));
                return null;
            }
            if (hasText)
            {
                if (text.ValueKind == JsonValueKind.String) return new CorpusDocument(lineNo, text.GetString()!, null);
                errors.Add(new JobError(file, lineNo, 1, $"\"text\" is a JSON {text.ValueKind.ToString().ToLowerInvariant()}, expected a string"));
                return null;
            }
            if (ids.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new JobError(file, lineNo, 1, $"\"ids\" is a JSON {ids.ValueKind.ToString().ToLowerInvariant()}, expected an array of non-negative integers"));
                return null;
            }
            var result = new int[ids.GetArrayLength()];
            int k = 0;
            foreach (var id in ids.EnumerateArray())
            {
                if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0)
                {
                    errors.Add(new JobError(file, lineNo, 1, $"\"ids\"[{k}] is {id.GetRawText()}, expected a non-negative integer token id"));
                    return null;
                }
                result[k++] = value;
            }
            return new CorpusDocument(lineNo, null, result);
        }
    }
}
