using Sweep.Pipeline.Execution;

namespace Sweep.Pipeline.Ledger;

/// <summary>What the ledger made of a unit's commit.</summary>
public enum CommitOutcome
{
    /// <summary>This commit recorded the unit's outputs: it is done.</summary>
    Committed,
    /// <summary>The unit was already done (another lease committed it first); nothing changed.</summary>
    AlreadyDone,
    /// <summary>A newer lease of the unit was handed out; this (late) result was refused and nothing changed.</summary>
    StaleLease,
}

/// <summary>
/// The durable record of a run's units. <c>lease</c> numbers a unit's leases across the run's whole life, so an
/// attempt's outcome lands on the attempt it belongs to. A commit records a unit's outputs atomically and once: the
/// ledger, not the caller's memory, refuses a duplicate (the unit is done) or a stale lease (a newer one was handed out).
/// </summary>
public interface IRunLedger
{
    Task MarkStartedAsync(string unitKey, int lease, string worker, string node);
    Task<CommitOutcome> CommitAsync(string unitKey, int lease, UnitResult result);
    Task MarkRetriedAsync(string unitKey, int lease, string error);
    Task MarkFailedAsync(string unitKey, int lease, string error);
}
