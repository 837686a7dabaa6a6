using System.Text.Json;
using Sweep.Models.Tokenizers;
using Sweep.Tests.Common;
using Xunit;

namespace Sweep.Jobs.Tests.Tokenizers;

public class TokenizerConformanceTests
{
    private sealed record Case(string Text, int[] Ids);

    private static List<Case> ReadExpected(string fixtureDir)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixtureDir, "expected.json")));
        return doc.RootElement.EnumerateArray()
            .Select(e => new Case(e.GetProperty("text").GetString()!, e.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()).ToArray()))
            .ToList();
    }

    [Theory]
    [InlineData("gpt2-tokenizer")]
    [InlineData("llama2-tokenizer")]
    public void Every_fixture_string_encodes_to_its_reference_ids(string fixture)
    {
        var dir = Fixtures.TryGet(fixture);
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(dir);
        var cases = ReadExpected(dir);
        Assert.NotEmpty(cases);
        foreach (var c in cases)
            Assert.Equal(c.Ids, tokenizer.Encode(c.Text, addBos: false));
    }

    [Fact]
    public void Gpt2_has_endoftext_as_bos_and_eos_and_adds_no_bos_by_default()
    {
        var dir = Fixtures.TryGet("gpt2-tokenizer");
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(dir);
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
        Assert.Equal(50256, tokenizer.BosId);
        Assert.Equal(50256, tokenizer.EosId);
        Assert.Null(tokenizer.PadId);
        Assert.False(tokenizer.AddsBosByDefault);
        Assert.Equal(50257, tokenizer.VocabSize);
        Assert.Equal([50256, 15496, 995], tokenizer.Encode("Hello world", addBos: true));
        Assert.Equal([15496, 50256, 995], tokenizer.Encode("Hello<|endoftext|> world", addBos: false));
    }

    [Fact]
    public void Gpt2_decodes_back_to_the_text()
    {
        var dir = Fixtures.TryGet("gpt2-tokenizer");
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(dir);
        foreach (var c in ReadExpected(dir))
            Assert.Equal(c.Text, tokenizer.Decode(c.Ids));
    }

    [Fact]
    public void Llama2_adds_bos_1_by_default_and_has_eos_2()
    {
        var dir = Fixtures.TryGet("llama2-tokenizer");
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(dir);
        Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
        Assert.Equal(1, tokenizer.BosId);
        Assert.Equal(2, tokenizer.EosId);
        Assert.True(tokenizer.AddsBosByDefault);
        Assert.Equal(32000, tokenizer.VocabSize);
        Assert.Equal([1, 15043, 3186], tokenizer.Encode("Hello world", addBos: true));
    }

    [Fact]
    public void Digest_is_stable_and_differs_between_tokenizers()
    {
        var gpt2 = Fixtures.TryGet("gpt2-tokenizer");
        var llama = Fixtures.TryGet("llama2-tokenizer");
        if (gpt2 is null || llama is null) return;
        var a = TokenizerLoader.Load(gpt2).Digest;
        Assert.Equal(a, TokenizerLoader.Load(gpt2).Digest);
        Assert.Matches("^[0-9a-f]{64}$", a);
        Assert.NotEqual(a, TokenizerLoader.Load(llama).Digest);
        // From the files alone, the digest that decides which models share a tokenization.
        Assert.Equal(a, TokenizerLoader.DigestOf(gpt2));
        Assert.Equal(TokenizerLoader.Load(llama).Digest, TokenizerLoader.DigestOf(llama));
        Assert.Null(TokenizerLoader.DigestOf(Path.Combine(gpt2, "no-such-model")));
    }
}

public sealed class HfTokenizerJsonTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-tokjson-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Writes vocab.json + merges.txt of <paramref name="source"/> as one tokenizer.json (merges as pairs).</summary>
    private string WriteTokenizerJson(string source, string preTokenizer = """{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}""")
    {
        var vocab = File.ReadAllText(Path.Combine(source, "vocab.json"));
        var merges = File.ReadLines(Path.Combine(source, "merges.txt")).Where(l => l.Length > 0 && !l.StartsWith("#version"))
            .Select(l => l.Split(' ')).Select(p => JsonSerializer.Serialize(new[] { p[0], p[1] }));
        var eot = JsonSerializer.Deserialize<Dictionary<string, int>>(vocab)!["<|endoftext|>"];
        var json = $$$"""
            {"version": "1.0",
             "added_tokens": [{"id": {{{eot}}}, "content": "<|endoftext|>", "special": true}],
             "pre_tokenizer": {{{preTokenizer}}},
             "model": {"type": "BPE", "vocab": {{{vocab}}}, "merges": [{{{string.Join(",", merges)}}}]}}
            """;
        File.WriteAllText(Path.Combine(_root, "tokenizer.json"), json);
        return _root;
    }

    [Fact]
    public void Gpt2_tokenizer_json_encodes_every_fixture_string_to_its_reference_ids()
    {
        var dir = Fixtures.TryGet("gpt2-tokenizer");
        if (dir is null) return;
        var tokenizer = TokenizerLoader.Load(WriteTokenizerJson(dir));
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")));
        foreach (var c in doc.RootElement.EnumerateArray())
            Assert.Equal(c.GetProperty("ids").EnumerateArray().Select(i => i.GetInt32()), tokenizer.Encode(c.GetProperty("text").GetString()!, addBos: false));
        Assert.Equal(50256, tokenizer.EosId);
        Assert.Equal(TokenizerKind.ByteLevelBpe, tokenizer.Kind);
    }

    [Fact]
    public void Trained_tokenizer_gives_the_same_ids_from_tokenizer_json_as_from_vocab_and_merges()
    {
        var trained = Path.Combine(_root, "trained");
        ByteLevelBpeTrainer.TrainTo(trained, ByteLevelBpeTrainerTests.TrainingText, 50);
        var fromFiles = TokenizerLoader.Load(trained);
        Assert.Equal(fromFiles.Digest, TokenizerLoader.DigestOf(trained));
        File.Delete(Path.Combine(trained, "tokenizer_config.json"));
        var fromJson = TokenizerLoader.Load(WriteTokenizerJson(trained));
        Assert.Equal(fromJson.Digest, TokenizerLoader.DigestOf(_root));
        const string text = "Once upon a time, Lily ran to the park<|endoftext|>The dog too.";
        Assert.Equal(fromFiles.Encode(text, false), fromJson.Encode(text, false));
        Assert.NotEqual(fromFiles.Digest, fromJson.Digest);
    }

    [Fact]
    public void Other_tokenizer_json_kinds_are_refused_by_name()
    {
        var trained = Path.Combine(_root, "trained");
        ByteLevelBpeTrainer.TrainTo(trained, ByteLevelBpeTrainerTests.TrainingText, 5);
        WriteTokenizerJson(trained, preTokenizer: """{"type": "Sequence", "pretokenizers": [{"type": "Split"}, {"type": "ByteLevel", "use_regex": false}]}""");
        var e = Assert.Throws<Sweep.Models.ModelLoadException>(() => TokenizerLoader.Load(_root));
        Assert.Contains("tokenizer.json: model type 'BPE' with this pre_tokenizer is not supported", e.Message);
    }
}
