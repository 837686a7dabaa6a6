using System.CommandLine;
using Spectre.Console;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
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
                Func<string> interruptedBy = () => Interrupts.Current?.Signal ?? "cancelled";
                var report = await WithProgressAsync(progress => resumeRun is { } id
                    ? LocalRunner.ResumeAsync(id, jobFile?.FullName, session.Database, progress, ct, interruptedBy)
                    : LocalRunner.RunAsync(spec!, session.Database, progress, ct, interruptedBy));
                RunSummary.Print(report, session);
                return ExitCodes.Success;
            });
        });
        return command;
    }

    /// <summary>
    /// Hands the job to the cluster and waits for its outcome. SIGINT or SIGTERM stops the waiting, not the run: it belongs to
    /// the cluster and goes on there (stop its coordinator node to stop it; <c>--resume</c> continues it later).
    /// </summary>
    private static async Task<int> SubmitAsync(string endpoint, ClusterOptions client, JobSpec? spec, long? resume, CancellationToken ct)
    {
        long? runId = null;
        ClusterSubmission.Outcome outcome;
        try
        {
            outcome = await ClusterSubmission.SubmitAsync(endpoint, client, spec, resume, accepted =>
            {
                runId = accepted.RunId;
                Console.WriteLine($"run {accepted.RunId}: submitted to the cluster at {endpoint} ({accepted.Units} units, {accepted.AlreadyDone} already done); `sweep status {accepted.RunId}` shows its progress");
            }, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Console.Error.WriteLine(runId is { } id
                ? $"sweep: stopped waiting for run {id}; it goes on on the cluster (`sweep status {id}` follows it; stopping its coordinator node stops it)"
                : "sweep: stopped waiting before the cluster answered; if it accepted the run, it goes on there (`sweep status` shows it)");
            return Interrupts.Current?.ExitCode ?? ExitCodes.Failure;
        }
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
