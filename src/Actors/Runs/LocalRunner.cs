using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Execution;
using Sweep.Actors.Hosting;
using Sweep.Actors.Workers;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Storage.Database;

namespace Sweep.Actors.Runs;

/// <summary>
/// Runs a validated job in this process: records the run, tokenizes the corpus, plans units, lets
/// the coordinator, capture workers and a reducer work through them, and records how it ended.
/// Any failure after the run row exists marks the run failed with its reason.
/// </summary>
public static class LocalRunner
{
    public const int MaxAttempts = 3;

    public static async Task<RunReport> RunAsync(JobSpec spec, SweepDatabase database, IRunProgress progress, CancellationToken ct)
    {
        var store = Path.GetFullPath(spec.Output.Store);
        long runId = await database.CreateRunAsync(spec.Name, spec.SourceText, spec.Digest, store, ct);
        await database.SetRunStatusAsync(runId, RunStatus.Running, ct: ct);
        try
        {
            EnsureWritable(store);
            var corpus = LoadCorpus(spec);
            var weights = spec.Models.ToDictionary(m => m.Name, m => m.Descriptor.ComputeWeightsDigest());
            var plan = JobPlanner.Plan(spec, corpus, weights);
            var units = WorkUnits.From(plan).Concat(SaeUnits.From(spec, plan)).ToList();
            await database.UpsertUnitsAsync(runId, units.Select(u => new UnitRecord(u.Key, WorkUnits.StageName(u.Stage), u.Description)), ct);

            var context = new RunContext(runId, spec, corpus, weights, store);
            var outcome = await ExecuteAsync(context, units, new DatabaseRunLedger(database, runId), progress, ct);
            if (!outcome.Succeeded) throw new RunFailedException(runId, outcome.Error ?? "the run failed");

            await database.SetRunStatusAsync(runId, RunStatus.Succeeded, ct: CancellationToken.None);
            return new RunReport(runId, outcome, store, plan.Captures.Count, plan.Analyses.Count, corpus.TokenCount,
                await database.GetMetricsAsync(runId, CancellationToken.None));
        }
        catch (Exception e)
        {
            var reason = e is OperationCanceledException ? "cancelled" : e.Message;
            await database.SetRunStatusAsync(runId, RunStatus.Failed, reason, CancellationToken.None);
            throw e as RunFailedException ?? new RunFailedException(runId, reason, e);
        }
    }

    private static async Task<RunOutcome> ExecuteAsync(RunContext context, IReadOnlyList<WorkUnit> units, IRunLedger ledger,
        IRunProgress progress, CancellationToken ct)
    {
        var system = LocalActorSystem.Create();
        try
        {
            var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var cancel = ct.Register(() => outcome.TrySetCanceled(ct));
            var coordinator = system.ActorOf(RunCoordinator.Props(units, new HashSet<string>(), ledger, progress, outcome, MaxAttempts), "coordinator");
            var saes = new SaeRun(context);
            for (int i = 1; i <= context.Spec.Execution.Workers; i++)
                system.ActorOf(UnitWorker.Props(WorkStage.Capture, coordinator, new CaptureExecutor(context, saes)), $"worker-{i}");
            system.ActorOf(UnitWorker.Props(WorkStage.TrainSae, coordinator, new TrainSaeExecutor(saes)), "sae-trainer-1");
            system.ActorOf(UnitWorker.Props(WorkStage.SaeStats, coordinator, new SaeStatsExecutor(saes)), "sae-stats-1");
            system.ActorOf(UnitWorker.Props(WorkStage.Analysis, coordinator, new PairAnalysisExecutor(context)), "reducer-1");
            return await outcome.Task;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static TokenizedCorpus LoadCorpus(JobSpec spec)
    {
        try { return CorpusLoader.Load(spec); }
        catch (JobValidationException e) { throw new InvalidDataException(string.Join("; ", e.Errors), e); }
    }

    private static void EnsureWritable(string store)
    {
        try
        {
            Directory.CreateDirectory(store);
            var probe = Path.Combine(store, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"store directory {store} is not writable ({e.Message})", e);
        }
    }
}
