using System.CommandLine;
using System.Text.Json;
using Sweep.Models;
using Sweep.Models.Tokenizers;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep tokenize --model DIR TEXT [--bos]</c>: the token ids a model's tokenizer gives TEXT, as a JSON array.</summary>
internal static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<DirectoryInfo>("--model")
        {
            Description = "a model directory with tokenizer files (tokenizer.model, vocab.json + merges.txt, tokenizer.json or *.tiktoken)",
            Required = true,
        };
        var bos = new Option<bool>("--bos") { Description = "prepend the tokenizer's BOS id" };
        var text = new Argument<string>("text") { Description = "the text to tokenize" };
        var command = new Command("tokenize", "Print the token ids of TEXT as a JSON array (no BOS unless --bos)") { model, bos, text };
        command.SetAction(parse => Failures.ReportAsync(() =>
            Task.FromResult(Run(parse.GetValue(model)!.FullName, parse.GetValue(text)!, parse.GetValue(bos), Console.Out))).GetAwaiter().GetResult());
        return command;
    }

    /// <summary>Writes the ids of <paramref name="text"/> to <paramref name="output"/>; failures are one-line exceptions.</summary>
    public static int Run(string modelDirectory, string text, bool bos, TextWriter output)
    {
        var tokenizer = TokenizerLoader.Load(modelDirectory);
        if (bos && tokenizer.BosId is null)
            throw new ModelLoadException($"{modelDirectory}: --bos given but the tokenizer has no BOS token (set bos_token in tokenizer_config.json)");
        output.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(text, bos)));
        return ExitCodes.Success;
    }
}
