using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sweep.Models.Demo;

/// <summary>One document of the demo corpus: consecutive sentences of one Brown paragraph.</summary>
public sealed record DemoDocument(string Id, int Paragraph, string Label, DetokenizedText Text, IReadOnlyList<string> Tags);

/// <summary>What <see cref="DemoCorpus.Write"/> wrote.</summary>
public sealed record DemoCorpusFiles(string TrainPath, string HeldOutPath, int TrainDocuments, int HeldOutDocuments, int TrainFiles, int HeldOutFiles)
{
    /// <summary>The labelled prompts of the concept analyses (<see cref="DemoPrompts"/>).</summary>
    public DemoPromptFiles? Prompts { get; init; }
}

/// <summary>
/// The demo corpus: the Brown Corpus as labelled jsonl, one document per line,
/// <code>
/// {"id":"ca01","paragraph":0,"label":"news","text":"The Fulton County ...","words":["The","Fulton",...],"tags":["at","np-tl",...],"offsets":[0,4,...]}
/// </code>
/// <c>label</c> is the genre (NLTK's names: news, editorial, reviews, religion, hobbies, lore, belles_lettres,
/// government, learned, fiction, mystery, science_fiction, adventure, romance, humor); <c>words</c>, <c>tags</c> and
/// <c>offsets</c> are parallel: each Brown word as it appears in <c>text</c>, its Brown part-of-speech tag, and the
/// character index where it starts (the corpus is ASCII, so also the byte index); <c>paragraph</c> counts from 0
/// within the file <c>id</c>.
/// A document is a run of whole sentences of one paragraph, packed while it holds at most
/// <see cref="MaxDocumentWords"/> words (a longer sentence is a document by itself): about 40 words, 58 tokens of the
/// demo tokenizer on average, so a job's <c>max_tokens</c> of 64-128 sees most documents whole.
/// Lines are interleaved round-robin over the files (<see cref="Interleaved"/>), so a job's <c>max_documents</c> takes
/// a sample of every genre, in proportion to its files; <c>id</c> and <c>paragraph</c> say where each line comes from.
/// Held out: whole Brown files, the 5th, 15th, 25th, ... file of each genre (ids in order), so every genre is in both
/// splits and no held-out sentence comes from a sample the models were trained on (52 of 500 files, 3,013 of 29,247 documents, about 10%).
/// </summary>
public static class DemoCorpus
{
    public const int MaxDocumentWords = 60;
    public const string TrainFile = "train.jsonl", HeldOutFile = "heldout.jsonl", LicenseFile = "LICENSE";

    /// <summary>Whether the file at <paramref name="indexInGenre"/> (0-based, files of one genre in id order) is held out.</summary>
    public static bool IsHeldOut(int indexInGenre) => indexInGenre % 10 == 4;

    /// <summary>The files of <paramref name="corpus"/> split into (train, held out), each in cats.txt order.</summary>
    public static (IReadOnlyList<BrownFile> Train, IReadOnlyList<BrownFile> HeldOut) Split(IReadOnlyList<BrownFile> corpus)
    {
        var heldOut = corpus.GroupBy(f => f.Genre)
            .SelectMany(g => g.OrderBy(f => f.Id, StringComparer.Ordinal).Where((_, i) => IsHeldOut(i)))
            .Select(f => f.Id).ToHashSet(StringComparer.Ordinal);
        return (corpus.Where(f => !heldOut.Contains(f.Id)).ToList(), corpus.Where(f => heldOut.Contains(f.Id)).ToList());
    }

    /// <summary>The documents of one Brown file, in reading order.</summary>
    public static IEnumerable<DemoDocument> Documents(BrownFile file)
    {
        for (int p = 0; p < file.Paragraphs.Count; p++)
        {
            var words = new List<TaggedWord>();
            foreach (var sentence in file.Paragraphs[p])
            {
                if (words.Count > 0 && words.Count + sentence.Count > MaxDocumentWords)
                {
                    yield return Document(file, p, words);
                    words = [];
                }
                words.AddRange(sentence);
            }
            if (words.Count > 0) yield return Document(file, p, words);
        }
    }

    private static DemoDocument Document(BrownFile file, int paragraph, List<TaggedWord> words) =>
        new(file.Id, paragraph, file.Genre, BrownDetokenizer.Join(words.Select(w => w.Word).ToList()), words.Select(w => w.Tag).ToList());

    /// <summary>
    /// Reads the Brown Corpus in <paramref name="brownDirectory"/> and writes train.jsonl, heldout.jsonl, the labelled
    /// prompts (prompts.jsonl, <see cref="DemoPrompts"/>) and the corpus's notice (LICENSE) into
    /// <paramref name="outputDirectory"/>; each file is written whole under a temporary name and renamed, and the same
    /// corpus gives the same bytes.
    /// </summary>
    public static DemoCorpusFiles Write(string brownDirectory, string outputDirectory)
    {
        var corpus = BrownCorpus.Read(brownDirectory);
        var (train, heldOut) = Split(corpus);
        Directory.CreateDirectory(outputDirectory);
        string trainPath = Path.Combine(outputDirectory, TrainFile), heldOutPath = Path.Combine(outputDirectory, HeldOutFile);
        int trainDocuments = WriteJsonl(trainPath, train), heldOutDocuments = WriteJsonl(heldOutPath, heldOut);
        var prompts = DemoPrompts.Write(train, heldOut, outputDirectory);
        AtomicFile.WriteAllBytes(Path.Combine(outputDirectory, LicenseFile), File.ReadAllBytes(Path.Combine(brownDirectory, BrownCorpus.NoticeFile)));
        return new DemoCorpusFiles(trainPath, heldOutPath, trainDocuments, heldOutDocuments, train.Count, heldOut.Count) { Prompts = prompts };
    }

    /// <summary>The documents of a jsonl file written by <see cref="Write"/>: (label, text) per line.</summary>
    public static IEnumerable<(string Label, string Text)> ReadTexts(string path)
    {
        foreach (var line in File.ReadLines(path))
        {
            if (string.IsNullOrWhiteSpace(line)) continue;
            using var json = JsonDocument.Parse(line);
            yield return (json.RootElement.GetProperty("label").GetString()!, json.RootElement.GetProperty("text").GetString()!);
        }
    }

    /// <summary>
    /// The documents of <paramref name="files"/> round-robin: the first document of every file (in cats.txt order),
    /// then the second of every file that has one, and so on; so the top N lines sample every file and genre.
    /// </summary>
    public static IEnumerable<DemoDocument> Interleaved(IReadOnlyList<BrownFile> files)
    {
        var documents = files.Select(f => Documents(f).ToList()).ToList();
        int longest = documents.Max(d => d.Count);
        for (int k = 0; k < longest; k++)
            foreach (var d in documents)
                if (k < d.Count) yield return d[k];
    }

    private static int WriteJsonl(string path, IReadOnlyList<BrownFile> files)
    {
        var bytes = new MemoryStream();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        int count = 0;
        foreach (var doc in Interleaved(files))
        {
            using (var w = new Utf8JsonWriter(bytes, options))
            {
                w.WriteStartObject();
                w.WriteString("id", doc.Id);
                w.WriteNumber("paragraph", doc.Paragraph);
                w.WriteString("label", doc.Label);
                w.WriteString("text", doc.Text.Text);
                w.WriteStartArray("words"); foreach (var word in doc.Text.Words) w.WriteStringValue(word); w.WriteEndArray();
                w.WriteStartArray("tags"); foreach (var tag in doc.Tags) w.WriteStringValue(tag); w.WriteEndArray();
                w.WriteStartArray("offsets"); foreach (var offset in doc.Text.Offsets) w.WriteNumberValue(offset); w.WriteEndArray();
                w.WriteEndObject();
            }
            bytes.WriteByte((byte)'\n');
            count++;
        }
        AtomicFile.WriteAllBytes(path, bytes.ToArray());
        return count;
    }
}
