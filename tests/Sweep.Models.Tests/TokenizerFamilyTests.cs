using System.IO.Compression;
using System.Reflection;
using Microsoft.ML.Tokenizers;
using Sweep.Models.Tokenizers;
using Sweep.Tests.Common;
using Xunit;
using Xunit.Abstractions;

namespace Sweep.Models.Tests;

/// <summary>tiktoken encodings from a model directory's *.tiktoken file, and the SentencePiece path Gemma uses.</summary>
public sealed class TokenizerFamilyTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-tok-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>cl100k_base.tiktoken as OpenAI publishes it, taken from the Microsoft.ML.Tokenizers.Data.Cl100kBase package (stored deflated).</summary>
    private string WriteCl100k(string name = "cl100k_base.tiktoken")
    {
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Cl100kBase");
        using var resource = assembly.GetManifestResourceStream("cl100k_base.tiktoken.deflate")!;
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        var path = Path.Combine(_dir, name);
        using (var file = File.Create(path)) inflated.CopyTo(file);
        return path;
    }

    [Fact]
    public void A_cl100k_base_tiktoken_file_encodes_as_tiktoken_does()
    {
        WriteCl100k();
        Assert.True(TokenizerLoader.HasTokenizer(_dir));
        var tokenizer = TokenizerLoader.Load(_dir);
        Assert.Equal(TokenizerKind.Tiktoken, tokenizer.Kind);
        Assert.Equal([15339, 1917], tokenizer.Encode("hello world", addBos: false));   // tiktoken's cl100k_base ids
        Assert.Equal(100257, tokenizer.EosId);                                          // <|endoftext|>
        Assert.Null(tokenizer.BosId);
        Assert.False(tokenizer.AddsBosByDefault);
        Assert.Equal(100277, tokenizer.VocabSize);                                      // ranks 0..100255, specials up to <|endofprompt|> 100276

        var packaged = TiktokenTokenizer.CreateForEncoding("cl100k_base");
        foreach (var text in new[] { "The Eiffel Tower is in Paris", "def f(x):\n    return x ** 2  # square", "Ünïcödé 日本語 🙂", "  leading spaces\t\ttabs" })
            Assert.Equal(packaged.EncodeToIds(text), tokenizer.Encode(text, addBos: false));
    }

    [Fact]
    public void A_tiktoken_file_not_named_after_a_known_encoding_is_refused()
    {
        var path = WriteCl100k("mine.tiktoken");
        var e = Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(_dir));
        Assert.Equal($"{path}: unknown tiktoken encoding 'mine', expected the file to be named after one of: cl100k_base.tiktoken, o200k_base.tiktoken, p50k_base.tiktoken, r50k_base.tiktoken", e.Message);

        File.Copy(path, Path.Combine(_dir, "cl100k_base.tiktoken"));
        Assert.True(TokenizerLoader.HasTokenizer(_dir));   // says there are files; Load says which to keep
        Assert.Equal($"{_dir}: 2 *.tiktoken files (cl100k_base.tiktoken, mine.tiktoken), expected one", Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(_dir)).Message);
    }

    [Fact]
    public void Gemma_style_special_tokens_of_a_sentencepiece_model_come_from_tokenizer_config()
    {
        // No Gemma tokenizer.model is available offline; the same loader path runs on the Llama 2 model with the
        // tokenizer_config.json layout Gemma ships (AddedToken objects, add_bos_token, a pad token).
        var fixture = Fixtures.TryGet("llama2-tokenizer");
        if (fixture is null) { output.WriteLine("skipped: fixture llama2-tokenizer missing (outside CI)"); return; }
        File.Copy(Path.Combine(fixture, "tokenizer.model"), Path.Combine(_dir, "tokenizer.model"));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """
            {"add_bos_token": true, "add_eos_token": false,
             "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": {"content": "<unk>"}}
            """);
        var tokenizer = TokenizerLoader.Load(_dir);
        Assert.Equal(TokenizerKind.SentencePiece, tokenizer.Kind);
        Assert.Equal((1, 2, 0, true), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId, tokenizer.AddsBosByDefault));
        Assert.Equal([1, 15043, 29892, 3186], tokenizer.Encode("Hello, world", addBos: true));

        // Without added_tokens_decoder "</s>" in the text is ordinary characters; with it, one token, as transformers matches it.
        Assert.NotEqual([15043, 2], tokenizer.Encode("Hello</s>", addBos: false));
        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """
            {"added_tokens_decoder": {"0": {"content": "<unk>", "special": true}, "1": {"content": "<s>", "special": true},
                                      "2": {"content": "</s>", "special": true}, "32000": {"content": "<start_of_turn>", "special": true}}}
            """);
        tokenizer = TokenizerLoader.Load(_dir);
        Assert.Equal([15043, 2], tokenizer.Encode("Hello</s>", addBos: false));
        var turn = tokenizer.Encode("<start_of_turn>user<start_of_turn>", addBos: false);
        Assert.Equal((3, 32000, 32000), (turn.Count, turn[0], turn[2]));
        Assert.Equal(32001, tokenizer.VocabSize);

        File.WriteAllText(Path.Combine(_dir, "tokenizer_config.json"), """{"bos_token": "<bos>"}""");
        Assert.Equal($"{_dir}: bos_token '<bos>' is not in tokenizer.model", Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(_dir)).Message);
    }
}
