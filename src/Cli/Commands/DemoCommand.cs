using System.CommandLine;
using Sweep.Models.Demo;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep demo models DIR</c>: writes the small models the default job compares. <c>sweep demo prompts DIR [--model M]</c>:
/// writes the day-of-week study's labelled prompts and its job (<see cref="DayOfWeekPrompts"/>).
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "where to write the model folders" };
        var corpus = new Option<FileInfo>("--corpus")
        {
            Description = "text the demo tokenizer is learned from",
            DefaultValueFactory = _ => new FileInfo("demo/corpus.txt"),
        };
        var models = new Command("models", "Write the demo models (seeded random weights, a BPE tokenizer learned from the demo corpus)") { directory, corpus };
        models.SetAction(parse => Failures.ReportAsync(() =>
        {
            var corpusFile = parse.GetValue(corpus)!;
            if (!corpusFile.Exists) throw new FileNotFoundException($"{corpusFile}: file not found, expected the text to learn the demo tokenizer from (--corpus)");
            foreach (var folder in DemoModels.Write(parse.GetValue(directory)!.FullName, File.ReadAllText(corpusFile.FullName)))
                Console.WriteLine($"wrote {folder}");
            return Task.FromResult(ExitCodes.Success);
        }).GetAwaiter().GetResult());
        var command = new Command("demo", "The default job's demo models, and the day-of-week study's prompts") { models, Prompts() };
        return command;
    }

    private static Command Prompts()
    {
        var directory = new Argument<DirectoryInfo>("dir") { Description = "where to write prompts.jsonl and days.yaml" };
        var model = new Option<DirectoryInfo?>("--model")
        {
            Description = "a Hugging Face model directory: the job names it and captures four of its layers (otherwise a placeholder path and a 12-layer model)",
        };
        var prompts = new Command("prompts", "Write labelled prompts for the day-of-week study (days, months, a neutral baseline) and its job") { directory, model };
        prompts.SetAction(parse => Failures.ReportAsync(() =>
        {
            foreach (var file in DayOfWeekPrompts.Write(parse.GetValue(directory)!.FullName, parse.GetValue(model)?.FullName))
                Console.WriteLine($"wrote {file}");
            return Task.FromResult(ExitCodes.Success);
        }).GetAwaiter().GetResult());
        return prompts;
    }
}
