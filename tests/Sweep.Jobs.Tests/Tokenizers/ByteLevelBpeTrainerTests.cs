using Sweep.Models;
using Sweep.Models.Tokenizers;
using Xunit;

namespace Sweep.Jobs.Tests.Tokenizers;

public sealed class ByteLevelBpeTrainerTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-bpe-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal const string TrainingText =
        "Once upon a time there was a little girl named Lily. She liked to play in the park with her dog.\n" +
        "On Monday the dog ran to the park. On Tuesday the girl ran to the park too.\n" +
        "The sun was warm and the sky was blue. Lily said: \"I love the park!\"\n";

    [Fact]
    public void Same_text_and_merge_count_write_identical_files()
    {
        var a = Path.Combine(_root, "a");
        var b = Path.Combine(_root, "b");
        ByteLevelBpeTrainer.TrainTo(a, TrainingText, 60);
        ByteLevelBpeTrainer.TrainTo(b, TrainingText, 60);
        foreach (var file in new[] { "vocab.json", "merges.txt", "tokenizer_config.json" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a, file)), File.ReadAllBytes(Path.Combine(b, file)));
        Assert.Equal(TokenizerLoader.Load(a).Digest, TokenizerLoader.Load(b).Digest);
    }

    [Fact]
    public void Learns_the_requested_merges_with_endoftext_as_the_last_id()
    {
        var vocabulary = ByteLevelBpeTrainer.Train(TrainingText, 60);
        Assert.Equal(60, vocabulary.Merges.Count);
        Assert.Equal("<|endoftext|>", vocabulary.Tokens[^1]);
        Assert.Equal(vocabulary.Tokens.Count - 1, vocabulary.EndOfTextId);
        // The most frequent pair in this text is "Ġ" + "t" (the space before "the"/"to"/"there"/"too").
        Assert.Equal(("Ġ", "t"), vocabulary.Merges[0]);
    }

    [Fact]
    public void Stops_early_when_every_word_is_one_symbol()
    {
        var vocabulary = ByteLevelBpeTrainer.Train("ab ab", 100);
        // "ab", "Ġab" reachable via: a+b, Ġ+ab  -> two merges, then nothing left to merge.
        Assert.Equal([("a", "b"), ("Ġ", "ab")], vocabulary.Merges);
        Assert.Equal(256 + 2 + 1, vocabulary.Tokens.Count);
    }

    [Theory]
    [InlineData("Once upon a time, Lily ran to the park.")]
    [InlineData("   multiple   spaces\tand\ttabs\n\n")]
    [InlineData("Unseen words: Zürich, naïve, 東京, emoji 🙂 and numbers 12345.")]
    [InlineData("")]
    public void Loaded_output_round_trips_any_text(string text)
    {
        ByteLevelBpeTrainer.TrainTo(_root, TrainingText, 80);
        var tokenizer = TokenizerLoader.Load(_root);
        var ids = tokenizer.Encode(text, addBos: false);
        Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
        Assert.Equal(text, tokenizer.Decode(ids));
    }

    [Fact]
    public void Merges_make_frequent_words_shorter_than_their_bytes()
    {
        ByteLevelBpeTrainer.TrainTo(_root, TrainingText, 80);
        var tokenizer = TokenizerLoader.Load(_root);
        Assert.True(tokenizer.Encode(" the park", addBos: false).Count < " the park".Length);
    }

    [Fact]
    public void Loaded_output_has_endoftext_as_bos_and_eos_and_honours_add_bos_token()
    {
        var vocabulary = ByteLevelBpeTrainer.TrainTo(_root, TrainingText, 10, addBosToken: true);
        var tokenizer = TokenizerLoader.Load(_root);
        Assert.Equal(vocabulary.EndOfTextId, tokenizer.BosId);
        Assert.Equal(vocabulary.EndOfTextId, tokenizer.EosId);
        Assert.True(tokenizer.AddsBosByDefault);
        Assert.Equal(vocabulary.Tokens.Count, tokenizer.VocabSize);
        Assert.Equal(vocabulary.EndOfTextId, tokenizer.Encode("x", addBos: true)[0]);
    }

    [Fact]
    public void Directory_without_tokenizer_files_names_the_directory_and_the_expected_files()
    {
        var e = Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(_root));
        Assert.Contains(_root, e.Message);
        Assert.Contains("tokenizer.model", e.Message);
        Assert.Contains("vocab.json + merges.txt", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Special_tokens_may_be_objects_with_content_and_map_file_fills_in()
    {
        var vocabulary = ByteLevelBpeTrainer.TrainTo(_root, TrainingText, 10);
        File.WriteAllText(Path.Combine(_root, "tokenizer_config.json"),
            """{"add_bos_token": true, "bos_token": {"content": "a", "lstrip": false}}""");
        File.WriteAllText(Path.Combine(_root, "special_tokens_map.json"), """{"pad_token": "b", "bos_token": "c"}""");
        var tokenizer = TokenizerLoader.Load(_root);
        Assert.Equal(vocabulary.Tokens.ToList().IndexOf("a"), tokenizer.BosId);
        Assert.Equal(vocabulary.Tokens.ToList().IndexOf("b"), tokenizer.PadId);
        Assert.Equal(vocabulary.EndOfTextId, tokenizer.EosId);
    }

    [Theory]
    [InlineData(TrainingText, 150)]
    [InlineData("aaa aaaa aaaaa aa a b ab ba aab abab baba <|endoftext|>aaab bbb", 40)]
    public void Merges_are_those_of_recounting_every_pair_after_every_merge(string text, int merges)
    {
        // The trainer keeps pair counts incrementally; the reference recounts all pairs of all words each time,
        // the definition of BPE training, with the same tie rule (ordinal strings of left, then right).
        var text2 = string.Concat(Enumerable.Repeat(text, 3)) + "The park, the dog: Lily's dog's park-dog!";
        Assert.Equal(ReferenceMerges(text2, merges), ByteLevelBpeTrainer.Train(text2, merges).Merges);
    }

    private static List<(string, string)> ReferenceMerges(string text, int mergeCount)
    {
        var words = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var piece in text.Split(Gpt2ByteLevel.EndOfText))
            foreach (var word in Gpt2ByteLevel.Split(piece))
            {
                var symbols = Gpt2ByteLevel.ToByteSymbols(word);
                words[symbols] = words.GetValueOrDefault(symbols) + 1;
            }
        var spelled = words.Select(w => (Symbols: w.Key.Select(c => c.ToString()).ToList(), Count: w.Value)).ToList();
        var merges = new List<(string, string)>();
        while (merges.Count < mergeCount)
        {
            var counts = new Dictionary<(string, string), long>();
            foreach (var (symbols, count) in spelled)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    counts[(symbols[i], symbols[i + 1])] = counts.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (counts.Count == 0) break;
            var best = counts.OrderByDescending(c => c.Value)
                .ThenBy(c => c.Key.Item1, StringComparer.Ordinal).ThenBy(c => c.Key.Item2, StringComparer.Ordinal).First().Key;
            merges.Add(best);
            foreach (var (symbols, _) in spelled)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                    {
                        symbols[i] = best.Item1 + best.Item2;
                        symbols.RemoveAt(i + 1);
                    }
        }
        return merges;
    }
}
