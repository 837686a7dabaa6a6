using System.CommandLine;
using System.Text.Json;
using Sweep.Models;
using Sweep.Models.Tokenizers;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep generate MODEL [--ids 1,2 | --prompt TEXT] [--tokens N]</c>: greedy decoding with a model, printed as a
/// JSON array of token ids (prompt and continuation), then the decoded text when the model has a tokenizer. A quick
/// check that a model directory loads and predicts what its reference implementation does.
/// </summary>
internal static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Argument<DirectoryInfo>("model") { Description = "a Hugging Face model directory (config.json + safetensors)" };
        var ids = new Option<string?>("--ids") { Description = "the prompt as comma-separated token ids (default: the BOS id)" };
        var prompt = new Option<string?>("--prompt") { Description = "the prompt as text, tokenized by the model's tokenizer (with BOS)" };
        var tokens = new Option<int>("--tokens") { Description = "how many tokens to append", DefaultValueFactory = _ => 20 };
        var device = new Option<string>("--device") { Description = "cpu, cuda:N or auto", DefaultValueFactory = _ => "auto" };
        var command = new Command("generate", "Greedy-decode a continuation with a model and print its token ids (and text)") { model, ids, prompt, tokens, device };
        command.SetAction(parse => Failures.ReportAsync(() => Task.FromResult(Run(parse.GetValue(model)!.FullName, parse.GetValue(ids),
            parse.GetValue(prompt), parse.GetValue(tokens), parse.GetValue(device)!, Console.Out))).GetAwaiter().GetResult());
        return command;
    }

    public static int Run(string directory, string? idsText, string? prompt, int newTokens, string device, TextWriter output)
    {
        if (newTokens < 1) throw new ArgumentException($"--tokens is {newTokens}, expected at least 1");
        if (idsText is not null && prompt is not null) throw new ArgumentException("--ids and --prompt both given, expected one of them");
        using var lm = CausalLm.Load(directory, device);
        var tokenizer = TokenizerLoader.HasTokenizer(directory) ? TokenizerLoader.Load(directory) : null;
        int[] start = (idsText, prompt) switch
        {
            ({ } text, _) => ParseIds(text),
            (_, { } p) => tokenizer is null
                ? throw new ModelLoadException($"{directory}: --prompt needs tokenizer files, expected --ids instead")
                : [.. tokenizer.Encode(p, tokenizer.BosId is not null)],
            _ => [lm.Descriptor.Config.BosTokenId ?? throw new ModelLoadException($"{directory}: config.json has no bos_token_id, expected --ids or --prompt")],
        };
        var all = lm.GreedyDecode(start, newTokens);
        output.WriteLine(JsonSerializer.Serialize(all));
        if (tokenizer is not null) output.WriteLine(tokenizer.Decode(all));
        return ExitCodes.Success;
    }

    private static int[] ParseIds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out ids[i]) || ids[i] < 0)
                throw new ArgumentException($"--ids: '{parts[i]}' is not a token id, expected comma-separated non-negative integers");
        return ids.Length > 0 ? ids : throw new ArgumentException("--ids is empty, expected at least one token id");
    }
}
