using Sweep.Actors.Execution;

namespace Sweep.Actors.Coordination;

/// <summary>A worker of <paramref name="Stage"/>'s role is idle and asks for a unit.</summary>
public sealed record RequestWork(WorkStage Stage, string Worker);

/// <summary>The coordinator hands a unit to the worker that asked.</summary>
public sealed record WorkAssigned(WorkUnit Unit);

/// <summary>A worker finished a unit; the coordinator commits it before counting it done.</summary>
public sealed record WorkSucceeded(WorkUnit Unit, UnitResult Result, string Worker);

/// <summary>A worker's unit threw. <paramref name="Permanent"/> failures are not retried.</summary>
public sealed record WorkFailed(WorkUnit Unit, string Error, bool Permanent, string Worker);

/// <summary>How a run ended, reported once to whoever started the coordinator.</summary>
public sealed record RunOutcome(bool Succeeded, string? Error, int UnitsRun, int UnitsReused, int Retries)
{
    public static RunOutcome Failed(string error, int run, int reused, int retries) => new(false, error, run, reused, retries);
}
