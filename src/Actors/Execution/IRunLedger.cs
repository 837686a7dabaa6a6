namespace Sweep.Actors.Execution;

/// <summary>The durable record of a run's units. Completion commits a unit's outputs atomically and idempotently.</summary>
public interface IRunLedger
{
    Task MarkStartedAsync(WorkUnit unit, string worker);
    Task MarkCompletedAsync(WorkUnit unit, UnitResult result);
    Task MarkFailedAsync(WorkUnit unit, string error);
}

/// <summary>Progress of a run as its units finish; implementations render it (progress bar, plain lines).</summary>
public interface IRunProgress
{
    void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone);
    void UnitCompleted(WorkUnit unit, bool reused);
    void UnitRetried(WorkUnit unit, int attempt, string error);
}
