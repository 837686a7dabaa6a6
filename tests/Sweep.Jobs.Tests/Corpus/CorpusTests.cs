using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;
using Sweep.Models.Tokenizers;
using Xunit;

namespace Sweep.Jobs.Tests.Corpus;

public sealed class CorpusTests : IDisposable
{
    private readonly JobDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static TokenizedCorpus Build(IEnumerable<CorpusDocument> docs, bool bos, int maxTokens, int perShard) =>
        CorpusLoader.Build(docs.ToList(), new CharTokenizer(bos), new CorpusOptions(maxTokens, perShard), "corpus.txt");

    private static CorpusDocument Text(string text, int line = 1) => new(line, text, null);

    [Fact]
    public void Txt_has_one_document_per_line_and_skips_blank_lines()
    {
        var path = _dir.File("c.txt", "first\n\n   \nsecond line\r\nthird\n");
        var docs = CorpusReader.Read(path, CorpusFormat.Txt, "c.txt");
        Assert.Equal([new CorpusDocument(1, "first", null), new CorpusDocument(4, "second line", null), new CorpusDocument(5, "third", null)], docs);
        Assert.Equal(2, CorpusReader.Read(path, CorpusFormat.Txt, "c.txt", maxDocuments: 2).Count);
    }

    [Fact]
    public void Jsonl_reads_text_and_ids_and_ignores_other_fields()
    {
        var path = _dir.File("c.jsonl", "{\"text\": \"hello\", \"source\": \"x\"}\n\n{\"ids\": [5, 6, 7]}\n");
        var docs = CorpusReader.Read(path, CorpusFormat.Jsonl, "c.jsonl");
        Assert.Equal(2, docs.Count);
        Assert.Equal((1, "hello"), (docs[0].Line, docs[0].Text));
        Assert.Equal(3, docs[1].Line);
        Assert.Equal([5, 6, 7], docs[1].Ids!);
    }

    [Fact]
    public void Jsonl_bad_lines_are_all_reported_with_file_and_line()
    {
        var path = _dir.File("c.jsonl", "{\"text\": \"ok\"}\n{\"text\": 3}\nnot json\n{\"ids\": [1, -2]}\n{\"other\": 1}\n{\"text\": \"a\", \"ids\": [1]}\n[1]\n");
        var e = Assert.Throws<JobValidationException>(() => CorpusReader.Read(path, CorpusFormat.Jsonl, "data/c.jsonl"));
        Assert.Equal(
        [
            "data/c.jsonl:2:1: \"text\" is a JSON number, expected a string",
            "data/c.jsonl:3:2: not valid JSON, expected a JSON object with a string \"text\" or an array \"ids\" of token ids",
            "data/c.jsonl:4:1: \"ids\"[1] is -2, expected a non-negative integer token id",
            "data/c.jsonl:5:1: no \"text\" or \"ids\" field, expected a JSON object with a string \"text\" or an array \"ids\" of token ids",
            "data/c.jsonl:6:1: both \"text\" and \"ids\", expected a JSON object with a string \"text\" or an array \"ids\" of token ids, not both",
            "data/c.jsonl:7:1: a JSON array, expected a JSON object with a string \"text\" or an array \"ids\" of token ids",
        ], e.Errors.Select(x => x.ToString()));
    }

    [Fact]
    public void Long_documents_are_cut_into_chunks_each_starting_with_bos()
    {
        var corpus = Build([Text("abcdefghij")], bos: true, maxTokens: 4, perShard: 10);
        Assert.Equal(
            [[0, 'a', 'b', 'c'], [0, 'd', 'e', 'f'], [0, 'g', 'h', 'i'], [0, 'j']],
            corpus.Shards.Single().Sequences);
        Assert.True(corpus.AddsBos);
        Assert.Equal(14, corpus.TokenCount);
    }

    [Fact]
    public void Without_bos_chunks_hold_max_tokens_ids()
    {
        var corpus = Build([Text("abcdefghij"), Text("xy", 2)], bos: false, maxTokens: 4, perShard: 10);
        Assert.Equal([[97, 98, 99, 100], [101, 102, 103, 104], [105, 106], [120, 121]], corpus.Shards.Single().Sequences);
        Assert.False(corpus.AddsBos);
        Assert.Equal(2, corpus.DocumentCount);
    }

    [Fact]
    public void Pre_tokenized_ids_are_used_as_given_without_bos()
    {
        var corpus = Build([new CorpusDocument(1, null, [7, 8, 9, 10, 11])], bos: true, maxTokens: 2, perShard: 10);
        Assert.Equal([[7, 8], [9, 10], [11]], corpus.Shards.Single().Sequences);
    }

    [Theory]
    [InlineData(10, 4, new[] { 4, 4, 2 })]
    [InlineData(8, 4, new[] { 4, 4 })]
    [InlineData(3, 4, new[] { 3 })]
    [InlineData(5, 1, new[] { 1, 1, 1, 1, 1 })]
    public void Shards_hold_sequences_per_shard_sequences_in_order(int documents, int perShard, int[] sizes)
    {
        var docs = Enumerable.Range(0, documents).Select(i => Text(((char)('a' + i)).ToString(), i + 1));
        var corpus = Build(docs, bos: false, maxTokens: 8, perShard: perShard);
        Assert.Equal(sizes, corpus.Shards.Select(s => s.Sequences.Count));
        Assert.Equal(Enumerable.Range(0, sizes.Length), corpus.Shards.Select(s => s.Index));
        Assert.Equal(Enumerable.Range(0, documents).Select(i => 'a' + i), corpus.Shards.SelectMany(s => s.Sequences).Select(s => s.Single()));
        Assert.Equal(documents, corpus.SequenceCount);
    }

    [Fact]
    public void Digests_are_stable_and_follow_the_ids()
    {
        CorpusDocument[] docs = [Text("abc"), Text("def", 2), Text("ghi", 3)];
        var a = Build(docs, bos: false, maxTokens: 8, perShard: 2);
        var b = Build(docs, bos: false, maxTokens: 8, perShard: 2);
        var changed = Build([docs[0], docs[1], Text("ghj", 3)], bos: false, maxTokens: 8, perShard: 2);
        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal(a.Shards.Select(s => s.Digest), b.Shards.Select(s => s.Digest));
        Assert.Matches("^[0-9a-f]{64}$", a.Digest);
        Assert.Equal(a.Shards[0].Digest, changed.Shards[0].Digest);
        Assert.NotEqual(a.Shards[1].Digest, changed.Shards[1].Digest);
        Assert.NotEqual(a.Digest, changed.Digest);
        Assert.NotEqual(a.Digest, Build(docs, bos: false, maxTokens: 2, perShard: 2).Digest);
        Assert.Equal("char", a.TokenizerDigest);
        // Known value: pins the digest layout (index, count, then length + ids as int32 little-endian).
        Assert.Equal(a.Shards[0].Digest, Build(docs[..2], bos: false, maxTokens: 8, perShard: 2).Shards[0].Digest);
    }

    [Fact]
    public void Empty_corpus_is_an_error_naming_the_file()
    {
        var path = _dir.File("empty.txt", "\n  \n\n");
        var docs = CorpusReader.Read(path, CorpusFormat.Txt, "empty.txt");
        var e = Assert.Throws<JobValidationException>(() =>
            CorpusLoader.Build(docs, new CharTokenizer(true), new CorpusOptions(8, 2), "empty.txt"));
        Assert.Equal("empty.txt: the corpus is empty: no document has any tokens, expected at least one non-blank line", e.Message);
    }

    [Fact]
    public void Ids_beyond_a_models_vocabulary_are_reported_at_their_line()
    {
        var docs = new[] { new CorpusDocument(1, null, [1, 2]), new CorpusDocument(2, null, [3, 600, 4]) };
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.Build(docs, null, new CorpusOptions(8, 2), "c.jsonl",
            [new VocabularyLimit("big", 1000), new VocabularyLimit("small", 512)]));
        Assert.Equal("c.jsonl:2: token id 600 at position 1 is out of range for model 'small', expected ids below its vocab_size 512", e.Message);
        Assert.Null(CorpusLoader.CheckIds([1, 511], [new VocabularyLimit("small", 512)]));
    }

    [Fact]
    public void Text_without_a_tokenizer_is_an_error_at_its_line()
    {
        var e = Assert.Throws<JobValidationException>(() =>
            CorpusLoader.Build([new CorpusDocument(1, null, [1]), Text("hi", 2)], null, new CorpusOptions(8, 2), "c.jsonl", tokenizerName: "m"));
        Assert.StartsWith("c.jsonl:2: a text document but model 'm' has no tokenizer files", e.Message);
    }

    [Fact]
    public void Bos_needs_room_for_a_token()
    {
        var e = Assert.Throws<JobValidationException>(() => Build([Text("abc")], bos: true, maxTokens: 1, perShard: 2));
        Assert.Contains("max_tokens is 1 but the tokenizer adds BOS", e.Message);
    }

    [Fact]
    public void Job_corpus_is_tokenized_with_the_tokenizer_models_files()
    {
        using var dir = JobDirectory.Standard();
        var spec = dir.Parse(JobDirectory.ValidJob);
        var corpus = CorpusLoader.Load(spec);
        var tokenizer = TokenizerLoader.Load(spec.Model("tiny-a").Path);
        Assert.Equal(tokenizer.Digest, corpus.TokenizerDigest);
        Assert.False(corpus.AddsBos);
        Assert.Equal(2, corpus.DocumentCount);
        var lines = new[] { "Once upon a time there was a park.", "The dog ran to the park on Monday." };
        var expected = lines.SelectMany(l => CorpusLoader.Chunk([.. tokenizer.Encode(l, false)], 16, null)).ToList();
        Assert.Equal(expected, corpus.Shards.SelectMany(s => s.Sequences));
        Assert.Equal(string.Concat(lines), string.Concat(corpus.Shards.SelectMany(s => s.Sequences).Select(s => tokenizer.Decode(s))));
        Assert.All(corpus.Shards, s => Assert.True(s.Sequences.Count <= 4));
    }

    [Fact]
    public void Job_corpus_adds_bos_when_the_tokenizer_config_says_so()
    {
        using var dir = JobDirectory.Standard();
        // Both models: the same tokenizer files (a model whose tokenizer adds no BOS reads other ids, its own tokenization).
        dir.Model("models/tiny-a", addBos: true);
        dir.Model("models/tiny-b", addBos: true);
        var corpus = CorpusLoader.Load(dir.Parse(JobDirectory.ValidJob));
        Assert.True(corpus.AddsBos);
        Assert.All(corpus.Shards.SelectMany(s => s.Sequences), s => Assert.Equal(JobDirectory.TokenizerVocabSize - 1, s[0]));
    }

    private string WriteBytes(string name, params byte[][] parts)
    {
        var path = Path.Combine(_dir.Root, name);
        File.WriteAllBytes(path, parts.SelectMany(p => p).ToArray());
        return path;
    }

    private static byte[] Utf8(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Invalid_utf8_is_an_error_at_its_line_column_and_byte_offset_unless_replacement_is_asked_for()
    {
        // Line 2 is "caf" + 0xE9 (Latin-1 é, not UTF-8) + "!"; line 3 has a truncated 3-byte sequence at its end.
        var path = WriteBytes("c.txt", Utf8("first line\n"), Utf8("caf"), [0xE9], Utf8("!\r\n"), Utf8("ok "), [0xE2, 0x82], Utf8("\n"), Utf8("fine\n"));
        var e = Assert.Throws<JobValidationException>(() => CorpusReader.Read(path, CorpusFormat.Txt, "c.txt"));
        Assert.Equal(
        [
            "c.txt:2:4: invalid UTF-8 at byte offset 14 of the file (byte 0xE9), expected UTF-8 text; set corpus.invalid_utf8: replace to read such bytes as U+FFFD",
            "c.txt:3:4: invalid UTF-8 at byte offset 21 of the file (byte 0xE2), expected UTF-8 text; set corpus.invalid_utf8: replace to read such bytes as U+FFFD",
        ], e.Errors.Select(x => x.ToString()));

        var replaced = CorpusReader.Read(path, CorpusFormat.Txt, "c.txt", invalidUtf8: InvalidUtf8.Replace);
        Assert.Equal(["first line", "caf\uFFFD!", "ok \uFFFD", "fine"], replaced.Select(d => d.Text));
    }

    [Fact]
    public void A_byte_order_mark_is_skipped_and_does_not_shift_byte_offsets()
    {
        var path = WriteBytes("bom.jsonl", [0xEF, 0xBB, 0xBF], Utf8("{\"text\": \"x\"}\n{\"text\": \""), [0xFF], Utf8("\"}\n"));
        var e = Assert.Throws<JobValidationException>(() => CorpusReader.Read(path, CorpusFormat.Jsonl, "bom.jsonl"));
        Assert.StartsWith("bom.jsonl:2:11: invalid UTF-8 at byte offset 27 of the file (byte 0xFF)", Assert.Single(e.Errors).ToString());
    }

    /// <summary>The errors <c>sweep validate</c> reports (streaming) and those a run's corpus loading raises, for one job.</summary>
    private static (IReadOnlyList<string> Validate, IReadOnlyList<string> Load) BothErrors(JobSpec spec)
    {
        var validate = Assert.Throws<JobValidationException>(() => CorpusLoader.Validate(spec));
        var load = Assert.Throws<JobValidationException>(() => CorpusLoader.Load(spec));
        return (validate.Errors.Select(x => x.ToString()).ToList(), load.Errors.Select(x => x.ToString()).ToList());
    }

    [Theory]
    [InlineData("corpus.jsonl", "{\"ids\": [1, 2]}\n{\"text\": 5}\n{\"ids\": [3, 999]}\nnot json\n", "corpus.jsonl:2:1: \"text\" is a JSON number, expected a string|corpus.jsonl:3: token id 999 at position 1 is out of range for model 'tiny-a', expected ids below its vocab_size 512|corpus.jsonl:4:2: not valid JSON")]
    [InlineData("corpus.txt", "\n   \n", "corpus.txt: the corpus is empty: no document has any tokens")]
    [InlineData("corpus.jsonl", "{\"ids\": []}\n", "corpus.jsonl: the corpus is empty: no document has any tokens")]
    public void Validation_reads_the_corpus_and_reports_what_the_run_would_refuse(string file, string content, string expected)
    {
        using var dir = JobDirectory.Standard();
        dir.File(file, content);
        var spec = dir.Parse(JobDirectory.ValidJob.Replace("path: corpus.txt", $"path: {file}"));
        var (validate, load) = BothErrors(spec);
        Assert.Equal(load, validate);
        var fragments = expected.Split('|');
        Assert.Equal(fragments.Length, validate.Count);
        for (int i = 0; i < fragments.Length; i++) Assert.StartsWith(fragments[i].Replace(file, spec.Corpus.DisplayPath), validate[i]);
    }

    [Fact]
    public void Validation_tokenizes_text_when_the_tokenizer_can_produce_ids_beyond_a_models_vocabulary()
    {
        using var dir = JobDirectory.Standard();
        // tiny-b's vocabulary is smaller than the tokenizer's: a text document tokenized by tiny-a's tokenizer can overflow it.
        dir.Model("models/tiny-b", vocabSize: 40, tokenizer: false);
        var spec = dir.Parse(JobDirectory.ValidJob);
        var (validate, load) = BothErrors(spec);
        Assert.Equal(load, validate);
        Assert.Contains(validate, e => e.StartsWith(spec.Corpus.DisplayPath + ":1: token id ") && e.Contains("out of range for model 'tiny-b', expected ids below its vocab_size 40"));
    }

    [Fact]
    public void Validation_of_a_good_corpus_counts_its_documents_and_holds_nothing()
    {
        using var dir = JobDirectory.Standard();
        var spec = dir.Parse(JobDirectory.ValidJob);
        Assert.Equal(new CorpusSummary(2), CorpusLoader.Validate(spec));

        var lines = Enumerable.Range(0, 20_000).Select(i => $"{{\"ids\": [{i % 500}, {(i * 7) % 500}, 3]}}");
        dir.File("big.jsonl", string.Join("\n", lines) + "\n{\"ids\": [1, 512]}\n");
        var big = dir.Parse(JobDirectory.ValidJob.Replace("path: corpus.txt", "path: big.jsonl"));
        var e = Assert.Throws<JobValidationException>(() => CorpusLoader.Validate(big));
        Assert.StartsWith(big.Corpus.DisplayPath + ":20001: token id 512 at position 1 is out of range", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void More_than_twenty_bad_lines_are_counted_not_listed()
    {
        using var dir = JobDirectory.Standard();
        dir.File("bad.jsonl", string.Concat(Enumerable.Repeat("{}\n", 25)));
        var spec = dir.Parse(JobDirectory.ValidJob.Replace("path: corpus.txt", "path: bad.jsonl"));
        var (validate, load) = BothErrors(spec);
        Assert.Equal(load, validate);
        Assert.Equal(21, validate.Count);
        Assert.Equal(spec.Corpus.DisplayPath + ": 5 more bad lines not shown", validate[^1]);
    }
}
