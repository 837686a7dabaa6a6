using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Hosting;
using Sweep.Actors.Workers;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Actors.Runs;

/// <summary>
/// Runs a job in this process: the run's life is <see cref="StartedRun"/>'s (the same as a cluster's), its execution
/// the coordinator, capture workers, an SAE trainer, an SAE statistics worker and a reducer as actors of one
/// actor system without remoting.
/// </summary>
public static class LocalRunner
{
    /// <summary>
    /// Runs <paramref name="spec"/> as a new run. Cancelling <paramref name="ct"/> interrupts it: the run is marked
    /// interrupted (<paramref name="interruptedBy"/> says how, e.g. "SIGINT") with nothing left running, and
    /// <see cref="RunInterruptedException"/> is thrown; <c>--resume</c> continues it.
    /// </summary>
    public static async Task<RunReport> RunAsync(JobSpec spec, SweepDatabase database, IRunProgress progress, CancellationToken ct,
        Func<string>? interruptedBy = null)
    {
        ct.ThrowIfCancellationRequested();
        long runId = await StartedRun.CreateAsync(spec, database, CancellationToken.None);
        progress.Started(runId, resumed: false);
        return await ExecuteAsync(runId, spec, database, progress, resume: false, ct, interruptedBy);
    }

    /// <summary><c>sweep run --resume RUN</c>: continues an interrupted run in this process (see <see cref="RunResumer"/>).</summary>
    public static async Task<RunReport> ResumeAsync(long runId, string? jobFile, SweepDatabase database, IRunProgress progress, CancellationToken ct,
        Func<string>? interruptedBy = null)
    {
        var spec = await RunResumer.LoadJobAsync(database, runId, jobFile, ct);
        progress.Started(runId, resumed: true);
        return await ExecuteAsync(runId, spec, database, progress, resume: true, ct, interruptedBy);
    }

    private static async Task<RunReport> ExecuteAsync(long runId, JobSpec spec, SweepDatabase database, IRunProgress progress, bool resume,
        CancellationToken ct, Func<string>? interruptedBy)
    {
        await using var run = await StartedRun.StartAsync(database, runId, spec, resume, ct, interruptedBy);
        RunOutcome outcome;
        try
        {
            outcome = await RunActorsAsync(run, progress, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw await run.InterruptAsync(interruptedBy?.Invoke());
        }
        catch (Exception e)
        {
            throw await run.FailAsync(e);
        }
        return await run.FinishAsync(outcome);
    }

    private static async Task<RunOutcome> RunActorsAsync(StartedRun run, IRunProgress progress, CancellationToken ct)
    {
        var system = LocalActorSystem.Create();
        try
        {
            var prepared = run.Prepared;
            var spec = prepared.Context.Spec;
            var lease = LeaseSettings.From(spec.Execution);
            var worker = WorkerSettings.Local(lease);
            var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            await using var cancel = ct.Register(() => outcome.TrySetCanceled(ct));
            var coordinator = system.ActorOf(RunCoordinator.Props(prepared.Units, run.Done, run.LastLeases, run.Ledger, progress, outcome, lease), "coordinator");
            IActorRef Start(WorkStage stage, string name) => system.ActorOf(UnitWorker.Props(stage, coordinator,
                DelayedExecutor.Wrap(prepared.CreateExecutor(spec.Execution.Device)), prepared.UnitsByKey, worker), name);
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
}
