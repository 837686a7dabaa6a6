using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Coordination;

// Messages between a run's coordinator and its workers. They travel between nodes in a cluster, so
// they carry unit keys rather than units: each node plans the same job and looks the unit up by key.

/// <summary>A worker of <paramref name="Stage"/>'s role on <paramref name="Node"/> is idle and asks for a unit.</summary>
public sealed record RequestWork(WorkStage Stage, string Worker, string Node);

/// <summary>The coordinator leases a unit to the worker that asked; <paramref name="Lease"/> numbers the unit's leases.</summary>
public sealed record WorkAssigned(string UnitKey, int Lease);

/// <summary>The worker still works on the unit: renews its lease.</summary>
public sealed record WorkProgress(string UnitKey, int Lease);

/// <summary>
/// A worker finished a unit: its outputs are in the store, its rows in the result file the report names. The coordinator
/// has the ledger commit them before counting the unit done. Nothing in it grows with the result.
/// </summary>
public sealed record WorkSucceeded(string UnitKey, int Lease, UnitReport Report);

/// <summary>A worker's unit threw. <paramref name="Permanent"/> failures are not retried.</summary>
public sealed record WorkFailed(string UnitKey, int Lease, string Error, bool Permanent);

/// <summary>
/// How hard a run tries: <paramref name="MaxAttempts"/> leases per unit before the run fails, and the
/// lease period, within which a working worker must send a heartbeat.
/// </summary>
public sealed record LeaseSettings(int MaxAttempts, TimeSpan Lease)
{
    /// <summary>Workers renew several times per lease period, so one lost heartbeat never costs a unit.</summary>
    public TimeSpan Heartbeat => Lease / 4;

    public TimeSpan CheckInterval => TimeSpan.FromTicks(Math.Max(Lease.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks));

    public static LeaseSettings From(Sweep.Jobs.Spec.ExecutionSpec execution) =>
        new(execution.MaxAttempts, TimeSpan.FromSeconds(execution.LeaseSeconds));
}
