using System.Text.Json;
using Sweep.Models.Demo;

namespace Sweep.Models.Tests.Demo;

public sealed class DemoCorpusTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-demo-corpus-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Brown_words_join_as_printed_english_and_every_word_stays_at_its_offset()
    {
        string[] words = ["``", "Only", "a", "handful", "''", ",", "the", "jury", "said", "(", "in", "part", ")", "--", "it", "didn't", "matter", ";", "why", "?"];
        var joined = BrownDetokenizer.Join(words);
        Assert.Equal("\"Only a handful\", the jury said (in part) -- it didn't matter; why?", joined.Text);
        Assert.Equal(words.Length, joined.Words.Count);
        for (int i = 0; i < words.Length; i++)
            Assert.Equal(joined.Words[i], joined.Text.Substring(joined.Offsets[i], joined.Words[i].Length));
        Assert.Equal("\"", joined.Words[0]);
        Assert.Equal("\"", joined.Words[4]);
    }

    [Fact]
    public void Documents_pack_whole_sentences_of_one_paragraph_and_whole_files_are_held_out_per_genre()
    {
        var brown = FakeBrownCorpus.Write(Path.Combine(_root, "brown"));
        var files = DemoCorpus.Write(brown, Path.Combine(_root, "out"));

        Assert.Equal((12, 1), (files.TrainFiles, files.HeldOutFiles));   // the 5th news file; the only humor file trains
        var heldOut = File.ReadAllLines(files.HeldOutPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(heldOut, d => Assert.Equal("ca05", d.GetProperty("id").GetString()));
        // Paragraph 0: sentences a+b (50 words) then c (adding it would make 75 > 60); paragraph 1: the 70-word sentence alone.
        Assert.Equal([0, 0, 1], heldOut.Select(d => d.GetProperty("paragraph").GetInt32()));
        Assert.Equal([50, 25, 70], heldOut.Select(d => d.GetProperty("words").GetArrayLength()));
        var first = heldOut[0];
        Assert.Equal("news", first.GetProperty("label").GetString());
        Assert.Equal(string.Join(' ', Enumerable.Repeat("a", 24)) + ". " + string.Join(' ', Enumerable.Repeat("b", 24)) + ".", first.GetProperty("text").GetString());
        Assert.Equal(first.GetProperty("words").GetArrayLength(), first.GetProperty("tags").GetArrayLength());
        Assert.Equal(".", first.GetProperty("tags")[24].GetString());
        var train = File.ReadAllLines(files.TrainPath).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(12 * 3, train.Count);
        Assert.Equal(["ca01", "ca02", "ca03"], train.Take(3).Select(d => d.GetProperty("id").GetString()));   // round-robin over files
        Assert.Equal("humor", train[^1].GetProperty("label").GetString());
        Assert.Equal(File.ReadAllText(Path.Combine(brown, "README")), File.ReadAllText(Path.Combine(_root, "out", "LICENSE")));
    }

    [Fact]
    public void A_word_without_a_tag_is_refused_naming_the_file_and_line()
    {
        var brown = Path.Combine(_root, "bad");
        Directory.CreateDirectory(brown);
        File.WriteAllText(Path.Combine(brown, "cats.txt"), "ca01 news\n");
        File.WriteAllText(Path.Combine(brown, "ca01"), "\n\n\tThe/at jury\n");
        var e = Assert.Throws<InvalidDataException>(() => BrownCorpus.Read(brown));
        Assert.Equal($"{Path.Combine(brown, "ca01")}:3: 'jury' is not a tagged word, expected WORD/TAG", e.Message);
    }

    [Fact]
    public void The_real_brown_corpus_becomes_fifteen_genres_in_both_splits_with_every_word_at_its_offset()
    {
        if (BrownCorpusLocation.TryGet() is not { } brown) return;
        var files = DemoCorpus.Write(brown, Path.Combine(_root, "brown"));
        Assert.Equal((448, 52), (files.TrainFiles, files.HeldOutFiles));

        long words = 0;
        var labels = new Dictionary<string, HashSet<string>>();
        foreach (var path in new[] { files.TrainPath, files.HeldOutPath })
        {
            labels[path] = [];
            foreach (var line in File.ReadLines(path))
            {
                var doc = JsonDocument.Parse(line).RootElement;
                string text = doc.GetProperty("text").GetString()!;
                var w = doc.GetProperty("words").EnumerateArray().Select(x => x.GetString()!).ToList();
                var offsets = doc.GetProperty("offsets").EnumerateArray().Select(x => x.GetInt32()).ToList();
                Assert.Equal(w.Count, doc.GetProperty("tags").GetArrayLength());
                for (int i = 0; i < w.Count; i++) Assert.Equal(w[i], text.Substring(offsets[i], w[i].Length));
                Assert.DoesNotContain("``", text);
                Assert.DoesNotContain(" ,", text);
                labels[path].Add(doc.GetProperty("label").GetString()!);
                words += w.Count;
            }
        }
        Assert.Equal(1_161_192, words);   // every word of the corpus, once
        Assert.Equal(15, labels[files.TrainPath].Count);
        Assert.Equal(labels[files.TrainPath], labels[files.HeldOutPath]);
        Assert.Contains("science_fiction", labels[files.HeldOutPath]);
    }
}
