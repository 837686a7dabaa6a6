namespace Sweep.Actors.Execution;

/// <summary>
/// The durable record of a run's units. <c>lease</c> numbers the coordinator's leases of a unit, so an
/// attempt's outcome lands on the attempt it belongs to. Completion commits a unit's outputs atomically,
/// once: it returns false when the unit had already been committed (a duplicate result changes nothing).
/// </summary>
public interface IRunLedger
{
    Task MarkStartedAsync(WorkUnit unit, int lease, string worker, string node);
    Task<bool> MarkCompletedAsync(WorkUnit unit, int lease, UnitResult result);
    Task MarkRetriedAsync(WorkUnit unit, int lease, string error);
    Task MarkFailedAsync(WorkUnit unit, int lease, string error);
}

/// <summary>Progress of a run as its units finish; implementations render it (progress bar, plain lines).</summary>
public interface IRunProgress
{
    void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone);
    void UnitCompleted(WorkUnit unit, bool reused);
    void UnitRetried(WorkUnit unit, int attempt, string error);
}

/// <summary>Progress that goes nowhere: for runs nobody watches (benchmarks, embedded callers, tests).</summary>
public sealed class NoProgress : IRunProgress
{
    public static readonly NoProgress Instance = new();
    private NoProgress() { }
    public void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone) { }
    public void UnitCompleted(WorkUnit unit, bool reused) { }
    public void UnitRetried(WorkUnit unit, int attempt, string error) { }
}
