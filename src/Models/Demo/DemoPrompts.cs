using System.Text.Encodings.Web;
using System.Text.Json;
using Sweep.Models.Training;

namespace Sweep.Models.Demo;

/// <summary>
/// One prompt of <c>prompts.jsonl</c>: the start of a Brown document up to and including one word, labelled by the
/// document's genre (<see cref="Label"/>), that word's coarse part of speech (<see cref="Pos"/>, from its Brown
/// <see cref="Tag"/>) and, when the word is a weekday name, the day (<see cref="Day"/>, otherwise <c>none</c>).
/// </summary>
public sealed record DemoPrompt(string Id, int Paragraph, string Split, string Label, string Pos, string Tag, string Word, string Day, string Text);

/// <summary>What <see cref="DemoPrompts.Write"/> wrote: all prompts, and how many end at a weekday.</summary>
public sealed record DemoPromptFiles(string Path, int Prompts, int DayPrompts);

/// <summary>
/// The labelled prompts the demo job's concept analyses read (docs/demo.md, "Prompts"): each prompt ends at the word
/// its labels describe, so <c>reduce: last</c> takes that word's last token.
/// <list type="bullet">
/// <item><b>Part of speech</b>: one prompt per held-out document (none of the models saw it): the document cut after a
/// word drawn by a seeded hash of (file id, document index) from its words that have a coarse class
/// (<see cref="BrownTags"/>), among the first <see cref="MaxPromptWords"/> and from the third word on when there is one;
/// <c>day</c> is <c>none</c>.</item>
/// <item><b>Day of the week</b>: one prompt per document of either split whose words name exactly one weekday
/// (<c>Monday</c> ... <c>Sunday</c>, capitalised, as a word of its own), cut after its first occurrence; <c>day</c> is
/// that day in lower case. Held-out Brown names a weekday only 41 times, too few for seven means, so these come from
/// both splits (<c>split</c> says which; the models saw the training ones during training).</item>
/// </list>
/// Lines are ordered by fractional position in each stream (part of speech: i / n; day: (j + 1/2) / m), so the top
/// N lines of the file sample both. The same corpus gives the same bytes.
/// </summary>
public static class DemoPrompts
{
    public const string FileName = "prompts.jsonl";
    public const int MaxPromptWords = 60;
    public const string NoDay = "none";
    public const ulong Seed = 15;

    /// <summary>The day labels, Monday first (the order a cyclic PCA draws its ring in).</summary>
    public static IReadOnlyList<string> Days { get; } = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

    private static readonly Dictionary<string, string> DayWords =
        Days.ToDictionary(d => char.ToUpperInvariant(d[0]) + d[1..], d => d, StringComparer.Ordinal);

    /// <summary>The prompts of the corpus, in file order.</summary>
    public static IReadOnlyList<DemoPrompt> Build(IReadOnlyList<BrownFile> train, IReadOnlyList<BrownFile> heldOut)
    {
        var pos = new List<DemoPrompt>();
        var days = new List<DemoPrompt>();
        var heldOutIds = heldOut.Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        // Both splits, round-robin over the training files and then the held-out ones.
        foreach (var (document, index) in Numbered(DemoCorpus.Interleaved([.. train, .. heldOut])))
        {
            string split = heldOutIds.Contains(document.Id) ? "heldout" : "train";
            if (DayPrompt(document, split) is { } day) days.Add(day);
            else if (split == "heldout" && PosPrompt(document, index) is { } prompt) pos.Add(prompt);
        }
        return Merge(pos, days);
    }

    /// <summary>Writes <see cref="FileName"/> into <paramref name="directory"/> (whole, under a temporary name, then renamed).</summary>
    public static DemoPromptFiles Write(IReadOnlyList<BrownFile> train, IReadOnlyList<BrownFile> heldOut, string directory)
    {
        var prompts = Build(train, heldOut);
        var bytes = new MemoryStream();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        foreach (var p in prompts)
        {
            using (var w = new Utf8JsonWriter(bytes, options))
            {
                w.WriteStartObject();
                w.WriteString("id", p.Id);
                w.WriteNumber("paragraph", p.Paragraph);
                w.WriteString("split", p.Split);
                w.WriteString("label", p.Label);
                w.WriteString("pos", p.Pos);
                w.WriteString("tag", p.Tag);
                w.WriteString("word", p.Word);
                w.WriteString("day", p.Day);
                w.WriteString("text", p.Text);
                w.WriteEndObject();
            }
            bytes.WriteByte((byte)'\n');
        }
        string path = Path.Combine(directory, FileName);
        AtomicFile.WriteAllBytes(path, bytes.ToArray());
        return new DemoPromptFiles(path, prompts.Count, prompts.Count(p => p.Day != NoDay));
    }

    /// <summary>Each document with its index within its Brown file (what the seeded draw hashes).</summary>
    private static IEnumerable<(DemoDocument Document, int Index)> Numbered(IEnumerable<DemoDocument> documents)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var d in documents)
        {
            int index = seen.GetValueOrDefault(d.Id);
            seen[d.Id] = index + 1;
            yield return (d, index);
        }
    }

    private static DemoPrompt? DayPrompt(DemoDocument document, string split)
    {
        var words = document.Text.Words;
        var named = words.Where(DayWords.ContainsKey).Distinct(StringComparer.Ordinal).ToList();
        if (named.Count != 1) return null;
        int at = words.ToList().IndexOf(named[0]);
        return Cut(document, at, split, DayWords[named[0]]);
    }

    private static DemoPrompt? PosPrompt(DemoDocument document, int index)
    {
        var candidates = Enumerable.Range(0, Math.Min(document.Text.Words.Count, MaxPromptWords))
            .Where(i => BrownTags.Coarse(document.Tags[i]) is not null).ToList();
        if (candidates.Count == 0) return null;
        if (candidates.Any(i => i >= 2)) candidates = candidates.Where(i => i >= 2).ToList();
        int at = candidates[SeededRandom.ForTensor(Seed, $"{document.Id}/{index}").NextInt(candidates.Count)];
        return Cut(document, at, "heldout", NoDay);
    }

    private static DemoPrompt Cut(DemoDocument document, int word, string split, string day)
    {
        var text = document.Text;
        string tag = document.Tags[word];
        return new DemoPrompt(document.Id, document.Paragraph, split, document.Label, BrownTags.Coarse(tag) ?? "other", tag, text.Words[word], day,
            text.Text[..(text.Offsets[word] + text.Words[word].Length)]);
    }

    /// <summary>Both streams in one order: each line at its fractional position in its own stream (ties: part of speech first).</summary>
    private static List<DemoPrompt> Merge(List<DemoPrompt> pos, List<DemoPrompt> days) =>
        pos.Select((p, i) => (Key: (double)i / pos.Count, Stream: 0, Index: i, Prompt: p))
            .Concat(days.Select((p, j) => (Key: (j + 0.5) / days.Count, Stream: 1, Index: j, Prompt: p)))
            .OrderBy(e => e.Key).ThenBy(e => e.Stream).ThenBy(e => e.Index)
            .Select(e => e.Prompt).ToList();
}
