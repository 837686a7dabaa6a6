using System.CommandLine;
using Sweep.Models.Demo;

namespace Sweep.Cli.Commands;

/// <summary><c>sweep demo models DIR</c>: writes the small models the default job compares.</summary>
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
        var command = new Command("demo", "The default job's demo models") { models };
        return command;
    }
}
