using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Runs;

/// <summary>Progress of a run as its units finish; implementations render it (progress bar, plain lines).</summary>
public interface IRunProgress
{
    /// <summary>The run has its id (before any work): <paramref name="resumed"/> when it continues an earlier one.</summary>
    void Started(long runId, bool resumed) { }
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
