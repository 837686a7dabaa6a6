using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Execution;
using Sweep.Actors.Hosting;
using Sweep.Actors.Workers;
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
    public static async Task<RunReport> RunAsync(JobSpec spec, SweepDatabase database, IRunProgress progress, CancellationToken ct)
    {
        long runId = await StartRunAsync(spec, database, ct);
        return await ExecuteAsync(runId, spec, database, progress, _ => Task.FromResult<IReadOnlySet<string>>(new HashSet<string>()), ct);
    }

    /// <summary>Creates the run row (pending) and remembers the job file's path for a later <c>--resume</c>.</summary>
    public static async Task<long> StartRunAsync(JobSpec spec, SweepDatabase database, CancellationToken ct)
    {
        long runId = await database.CreateRunAsync(spec.Name, spec.SourceText, spec.Digest, Path.GetFullPath(spec.Output.Store), ct);
        await database.SetRunJobPathAsync(runId, Path.GetFullPath(spec.File), ct);
        return runId;
    }

    /// <summary>
    /// Executes run <paramref name="runId"/> to the end in this process. <paramref name="finishedUnits"/> says which
    /// planned units the ledger already holds (none for a new run; the verified ones for a resumed run).
    /// </summary>
    public static async Task<RunReport> ExecuteAsync(long runId, JobSpec spec, SweepDatabase database, IRunProgress progress,
        Func<PreparedRun, Task<IReadOnlySet<string>>> finishedUnits, CancellationToken ct)
    {
        await database.SetRunStatusAsync(runId, RunStatus.Running, ct: ct);
        await using var heartbeat = RunHeartbeat.Start(database, runId);
        try
        {
            EnsureWritable(Path.GetFullPath(spec.Output.Store));
            var prepared = PreparedRun.Prepare(spec, runId);
            await database.UpsertUnitsAsync(runId, prepared.Units.Select(u => new UnitRecord(u.Key, WorkUnits.StageName(u.Stage), u.Description)), ct);
            var done = await finishedUnits(prepared);

            var outcome = await RunActorsAsync(prepared, done, new DatabaseRunLedger(database, runId), progress, ct);
            if (!outcome.Succeeded) throw new RunFailedException(runId, outcome.Error ?? "the run failed");

            await database.SetRunStatusAsync(runId, RunStatus.Succeeded, ct: CancellationToken.None);
            return await ReportAsync(runId, outcome, prepared, database);
        }
        catch (Exception e)
        {
            var reason = e is OperationCanceledException ? "cancelled" : e.Message;
            await database.SetRunStatusAsync(runId, RunStatus.Failed, reason, CancellationToken.None);
            throw e as RunFailedException ?? new RunFailedException(runId, reason, e);
        }
    }

    public static async Task<RunReport> ReportAsync(long runId, RunOutcome outcome, PreparedRun prepared, SweepDatabase database) =>
        new(runId, outcome, prepared.Context.StoreDirectory, prepared.Plan.Captures.Count, prepared.Plan.Analyses.Count,
            prepared.Context.Corpus.TokenCount, await database.GetMetricsAsync(runId, CancellationToken.None));

    private static async Task<RunOutcome> RunActorsAsync(PreparedRun prepared, IReadOnlySet<string> done, IRunLedger ledger,
        IRunProgress progress, CancellationToken ct)
    {
        var system = LocalActorSystem.Create();
        try
        {
            var spec = prepared.Context.Spec;
            var lease = LeaseSettings.From(spec.Execution);
            var worker = WorkerSettings.Local(lease);
            var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var cancel = ct.Register(() => outcome.TrySetCanceled(ct));
            var coordinator = system.ActorOf(RunCoordinator.Props(prepared.Units, done, ledger, progress, outcome, lease), "coordinator");
            IActorRef Start(WorkStage stage, string name) => system.ActorOf(UnitWorker.Props(stage, coordinator,
                DelayedExecutor.Wrap(prepared.CreateExecutor(stage, spec.Execution.Device)), prepared.UnitsByKey, worker), name);
            for (int i = 1; i <= spec.Execution.Workers; i++) Start(WorkStage.Capture, $"worker-{i}");
            Start(WorkStage.TrainSae, "sae-trainer-1");
            Start(WorkStage.SaeStats, "sae-stats-1");
            Start(WorkStage.Analysis, "reducer-1");
            return await outcome.Task;
        }
        finally
        {
            await system.Terminate();
        }
    }

    internal static void EnsureWritable(string store)
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
