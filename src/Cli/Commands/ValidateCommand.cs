using System.CommandLine;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep validate FILE</c>: checks a job as a run would, without doing any work: the job file, then its corpus
/// (read through once, streaming: bad lines, invalid UTF-8, ids out of a model's vocabulary, an empty corpus).
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var job = CommonOptions.JobFile();
        var command = new Command("validate", "Check a job file and its corpus, and report every problem as FILE:LINE:COL: message") { job };
        command.SetAction(parse =>
        {
            var spec = LoadJob(parse.GetValue(job)!.ToString());
            if (spec == null) return ExitCodes.InvalidJob;
            CorpusSummary corpus;
            try { corpus = CorpusLoader.Validate(spec); }
            catch (JobValidationException e)
            {
                foreach (var error in e.Errors) Console.Error.WriteLine(error);
                return ExitCodes.InvalidJob;
            }
            Console.WriteLine($"{parse.GetValue(job)}: valid ({spec.Models.Count} models, {spec.Captures.Sum(c => c.Sites.Count)} sites, " +
                              $"{spec.Analyses.Count} analyses; corpus {spec.Corpus.DisplayPath}: {corpus.Documents} documents)");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Loads a job, printing every validation error to stderr; null when invalid.</summary>
    public static JobSpec? LoadJob(string path)
    {
        try
        {
            return JobLoader.Load(path);
        }
        catch (JobValidationException e)
        {
            foreach (var error in e.Errors) Console.Error.WriteLine(error);
            return null;
        }
    }
}
