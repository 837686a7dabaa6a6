using System.CommandLine;
using Spectre.Console;
using Sweep.Actors.Execution;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Cli.Rendering;
using Sweep.Jobs.Spec;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep run FILE</c>: validates the job, runs it in this process, prints where the results are.
/// <c>--resume RUN</c> continues an interrupted run; <c>--cluster HOST:PORT</c> hands the work to a cluster.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var job = new Argument<FileInfo?>("job") { Description = "the job file (YAML); optional with --resume", Arity = ArgumentArity.ZeroOrOne };
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var resume = new Option<long?>("--resume")
        {
            Description = "continue run RUN from its ledger: finished units with intact shards are kept, the rest runs again",
            CustomParser = result => RunSelection.ParseRunId("--resume", result),
        };
        var cluster = new Option<string?>("--cluster")
        {
            Description = "submit to the cluster at HOST:PORT (any node) instead of running here; the coordinator reads the job at the same path",
        };
        var host = ClusterOptionsParsing.Host();
        var tls = ClusterOptionsParsing.TlsCertificate();
        var command = new Command("run", "Run a job: capture activations, compare sites, store results in PostgreSQL")
        {
            job, database, home, resume, cluster, host, tls,
        };
        command.SetAction(async (parse, ct) =>
        {
            var jobFile = parse.GetValue(job);
            var resumeRun = parse.GetValue(resume);
            JobSpec? spec = null;
            if (jobFile is not null && (spec = ValidateCommand.LoadJob(jobFile.ToString())) == null) return ExitCodes.InvalidJob;
            if (spec is null && resumeRun is null)
            {
                Console.Error.WriteLine("sweep: run needs a job file (or --resume RUN)");
                return ExitCodes.Failure;
            }
            return await Failures.ReportAsync(async () =>
            {
                if (parse.GetValue(cluster) is { } endpoint)
                    return await SubmitAsync(endpoint, ClusterOptionsParsing.Client(parse, host, tls), spec, resumeRun, ct);

                await using var session = await DatabaseSession.OpenAsync(
                    CommonOptions.ChooseDatabase(parse, database, spec?.Output.Database), parse.GetValue(home)!, ct);
                var report = await WithProgressAsync(progress => resumeRun is { } id
                    ? RunResumer.ResumeAsync(id, jobFile?.FullName, session.Database, progress, ct)
                    : LocalRunner.RunAsync(spec!, session.Database, progress, ct));
                RunSummary.Print(report, session);
                return ExitCodes.Success;
            });
        });
        return command;
    }

    private static async Task<int> SubmitAsync(string endpoint, ClusterOptions client, JobSpec? spec, long? resume, CancellationToken ct)
    {
        var outcome = await ClusterSubmission.SubmitAsync(endpoint, client, spec, resume,
            accepted => Console.WriteLine($"run {accepted.RunId}: submitted to the cluster at {endpoint} ({accepted.Units} units, {accepted.AlreadyDone} already done); `sweep status {accepted.RunId}` shows its progress"),
            ct);
        var f = outcome.Finished;
        if (!f.Succeeded) throw new RunFailedException(f.RunId, f.Error ?? "the run failed");
        Console.WriteLine($"run {f.RunId} succeeded: {f.UnitsRun} units run, {f.UnitsReused} reused from the cache, {f.Retries} retries");
        return ExitCodes.Success;
    }

    private static async Task<RunReport> WithProgressAsync(Func<IRunProgress, Task<RunReport>> run)
    {
        if (!Terminal.IsInteractive) return await run(new PlainRunProgress(Console.Out));
        RunReport? report = null;
        await AnsiConsole.Progress().AutoClear(false).StartAsync(async context => report = await run(new BarRunProgress(context)));
        return report!;
    }
}
