using System.Text.Json;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>`sweep tokenize --model DIR TEXT [--bos]`: ids as one JSON array on stdout, BOS only when asked, one-line errors.</summary>
public sealed class TokenizeCommandTests
{
    private static int[] Ids(SweepProcess.Result result)
    {
        Assert.True(result.ExitCode == 0, result.Stderr);
        return JsonSerializer.Deserialize<int[]>(result.Stdout.Trim())!;
    }

    [Fact]
    public async Task Prints_the_fixture_ids_and_prepends_bos_only_with_the_flag()
    {
        var gpt2 = Fixtures.TryGet("gpt2-tokenizer");
        var llama = Fixtures.TryGet("llama2-tokenizer");
        if (gpt2 is null || llama is null) return;
        var cwd = Path.GetTempPath();

        var hello = Ids(await SweepProcess.RunAsync(cwd, "tokenize", "--model", gpt2, "Hello world"));
        Assert.Equal(new[] { 15496, 995 }, hello);
        var withBos = Ids(await SweepProcess.RunAsync(cwd, "tokenize", "--model", gpt2, "Hello world", "--bos"));
        Assert.Equal(new[] { 50256, 15496, 995 }, withBos);

        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(llama, "expected.json")));
        var first = doc.RootElement[0];
        var expected = first.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var text = first.GetProperty("text").GetString()!;
        var plain = Ids(await SweepProcess.RunAsync(cwd, "tokenize", "--model", llama, text));
        Assert.Equal(expected, plain);
        var bos = Ids(await SweepProcess.RunAsync(cwd, "tokenize", "--bos", "--model", llama, text));
        Assert.Equal(new[] { 1 }.Concat(plain), bos);
    }

    [Fact]
    public async Task A_directory_without_tokenizer_files_is_one_line_and_exit_1()
    {
        var empty = Directory.CreateTempSubdirectory("sweep-notok-").FullName;
        try
        {
            var result = await SweepProcess.RunAsync(empty, "tokenize", "--model", empty, "text");
            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.StderrLines);
            Assert.StartsWith($"sweep: {empty}: no tokenizer files, expected tokenizer.model", line);
            Assert.Equal("", result.Stdout);
        }
        finally { Directory.Delete(empty, recursive: true); }
    }
}
