using System.Text;
using System.Text.Json;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Corpus;

/// <summary>One document of a corpus: text to tokenize, or token ids given as is. <see cref="Line"/> is 1-based.</summary>
public sealed record CorpusDocument(int Line, string? Text, int[]? Ids);

/// <summary>
/// Reads corpus files, streaming: one line in memory at a time. <c>.txt</c>: one document per line, blank lines
/// skipped. <c>.jsonl</c>: one JSON object per line with a string <c>text</c> or an array <c>ids</c> of
/// non-negative integers (other fields are ignored), blank lines skipped. Lines must be UTF-8 (a leading BOM is
/// skipped); an invalid byte is an error at its line, column and byte offset unless <see cref="InvalidUtf8.Replace"/>
/// reads it as U+FFFD. Every bad line is reported, as <c>FILE:LINE:COL: ...</c>.
/// </summary>
public static class CorpusReader
{
    /// <summary>The documents of <paramref name="path"/>, at most <paramref name="maxDocuments"/>; errors name <paramref name="displayPath"/>.</summary>
    public static IReadOnlyList<CorpusDocument> Read(string path, CorpusFormat format, string displayPath, int? maxDocuments = null,
        InvalidUtf8 invalidUtf8 = InvalidUtf8.Error)
    {
        var errors = new CorpusErrors(displayPath);
        var documents = Stream(path, format, displayPath, maxDocuments, invalidUtf8, errors).ToList();
        errors.ThrowIfAny();
        return documents;
    }

    /// <summary>
    /// The documents of <paramref name="path"/> as they are read; bad lines go to <paramref name="errors"/> (the
    /// caller throws at the end, so one pass reports them all) and are skipped. A missing file throws at once.
    /// </summary>
    public static IEnumerable<CorpusDocument> Stream(string path, CorpusFormat format, string displayPath, int? maxDocuments,
        InvalidUtf8 invalidUtf8, CorpusErrors errors)
    {
        if (!File.Exists(path))
            throw new JobValidationException([new JobError(displayPath, 0, 0, "corpus file not found, expected a .txt or .jsonl file")]);
        int documents = 0;
        foreach (var line in Utf8Lines.Read(path))
        {
            if (documents >= maxDocuments) yield break;
            string text;
            if (line.InvalidAt is { } bad && invalidUtf8 == InvalidUtf8.Error)
            {
                errors.Add(line.Number, bad + 1,
                    $"invalid UTF-8 at byte offset {line.Offset + bad} of the file (byte 0x{line.Bytes[bad]:X2}), expected UTF-8 text; " +
                    "set corpus.invalid_utf8: replace to read such bytes as U+FFFD");
                continue;
            }
            text = Encoding.UTF8.GetString(line.Bytes);   // invalid sequences become U+FFFD (only reached with replace)
            if (string.IsNullOrWhiteSpace(text)) continue;
            var document = format == CorpusFormat.Txt ? new CorpusDocument(line.Number, text, null) : ParseJsonLine(text, line.Number, errors);
            if (document is null) continue;
            documents++;
            yield return document;
        }
    }

    private static CorpusDocument? ParseJsonLine(string line, int lineNo, CorpusErrors errors)
    {
        const string expected = "expected a JSON object with a string \"text\" or an array \"ids\" of token ids";
        JsonDocument json;
        try { json = JsonDocument.Parse(line); }
        catch (JsonException e)
        {
            errors.Add(lineNo, (int)(e.BytePositionInLine ?? 0) + 1, $"not valid JSON, {expected}");
            return null;
        }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) { errors.Add(lineNo, 1, $"a JSON {Kind(root)}, {expected}"); return null; }
            bool hasText = root.TryGetProperty("text", out var text);
            bool hasIds = root.TryGetProperty("ids", out var ids);
            if (hasText == hasIds)
            {
                errors.Add(lineNo, 1, hasText ? $"both \"text\" and \"ids\", {expected}, not both" : $"no \"text\" or \"ids\" field, {expected}");
                return null;
            }
            return hasText ? ReadText(text, lineNo, errors) : ReadIds(ids, lineNo, errors);
        }
    }

    private static CorpusDocument? ReadText(JsonElement text, int lineNo, CorpusErrors errors)
    {
        if (text.ValueKind != JsonValueKind.String)
        {
            errors.Add(lineNo, 1, $"\"text\" is a JSON {Kind(text)}, expected a string");
            return null;
        }
        try { return new CorpusDocument(lineNo, text.GetString()!, null); }
        catch (InvalidOperationException)
        {
            // An escaped lone surrogate ("\ud800") is valid JSON syntax but no text.
            errors.Add(lineNo, 1, "\"text\" holds an escaped lone surrogate (\\uD800-\\uDFFF), expected a string of Unicode text");
            return null;
        }
    }

    private static CorpusDocument? ReadIds(JsonElement ids, int lineNo, CorpusErrors errors)
    {
        if (ids.ValueKind != JsonValueKind.Array)
        {
            errors.Add(lineNo, 1, $"\"ids\" is a JSON {Kind(ids)}, expected an array of non-negative integers");
            return null;
        }
        var result = new int[ids.GetArrayLength()];
        int k = 0;
        foreach (var id in ids.EnumerateArray())
        {
            if (id.ValueKind != JsonValueKind.Number || !id.TryGetInt32(out int value) || value < 0)
            {
                errors.Add(lineNo, 1, $"\"ids\"[{k}] is {id.GetRawText()}, expected a non-negative integer token id");
                return null;
            }
            result[k++] = value;
        }
        return new CorpusDocument(lineNo, null, result);
    }

    private static string Kind(JsonElement e) => e.ValueKind.ToString().ToLowerInvariant();
}

/// <summary>
/// The problems found in one corpus, reported together: at most <see cref="MaxReported"/> lines, then how many more.
/// </summary>
public sealed class CorpusErrors(string displayPath)
{
    public const int MaxReported = 20;
    private readonly List<JobError> _errors = [];
    private int _more;

    public string File { get; } = displayPath;
    public int Count => _errors.Count + _more;

    /// <summary>Whether enough errors are collected that reading on would only count more.</summary>
    public bool Full => _errors.Count >= MaxReported;

    public void Add(int line, int column, string message)
    {
        if (Full) _more++;
        else _errors.Add(new JobError(File, line, column, message));
    }

    public void ThrowIfAny()
    {
        if (Count == 0) return;
        throw new JobValidationException(_more == 0 ? _errors : [.. _errors, new JobError(File, 0, 0, $"{_more} more bad lines not shown")]);
    }
}

/// <summary>
/// A file's lines as raw bytes, each with its 1-based number, the file offset of its first byte, and where its first
/// invalid UTF-8 byte is. Lines end at "\n", "\r\n" or a lone "\r", as <see cref="File.ReadLines(string)"/> splits them
/// (so line numbers agree with every other reader of the corpus, e.g. <see cref="CorpusLabels"/>).
/// </summary>
internal static class Utf8Lines
{
    public sealed record Line(int Number, long Offset, byte[] Bytes, int? InvalidAt);

    public static IEnumerable<Line> Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        var buffer = new byte[1 << 16];
        var current = new MemoryStream();
        long offset = 0, lineStart = 0;
        int number = 0;
        bool first = true, afterCr = false, pending = false;
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            int start = 0;
            if (first)
            {
                first = false;
                if (read >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF) { start = 3; lineStart = 3; }
            }
            for (int i = start; i < read; i++)
            {
                byte b = buffer[i];
                if (afterCr && b == (byte)'\n')
                {
                    // The "\n" of a "\r\n" whose "\r" ended the line already.
                    afterCr = false;
                    start = i + 1;
                    lineStart = offset + i + 1;
                    continue;
                }
                afterCr = false;
                if (b != (byte)'\n' && b != (byte)'\r') { pending = true; continue; }
                current.Write(buffer, start, i - start);
                yield return Make(++number, lineStart, current);
                current.SetLength(0);
                pending = false;
                afterCr = b == (byte)'\r';
                start = i + 1;
                lineStart = offset + i + 1;
            }
            current.Write(buffer, start, read - start);
            offset += read;
        }
        if (pending || current.Length > 0) yield return Make(++number, lineStart, current);
    }

    private static Line Make(int number, long offset, MemoryStream current)
    {
        var bytes = current.ToArray();
        return new Line(number, offset, bytes, FirstInvalid(bytes));
    }

    private static int? FirstInvalid(byte[] bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _, replaceInvalidSequences: false);
        return valid;
    }
}
