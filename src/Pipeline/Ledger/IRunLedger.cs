using Sweep.Pipeline.Results;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Ledger;

/// <summary>
/// The durable record of a run's units. <c>lease</c> numbers a unit's leases across the run's whole life, so an
/// attempt's outcome lands on the attempt it belongs to. A commit records a unit's outputs atomically and once: the
/// ledger, not the caller's memory, refuses a duplicate (the unit is done) or a stale lease (a newer one was handed out).
/// </summary>
public interface IRunLedger
{
    Task MarkStartedAsync(string unitKey, int lease, string worker, string node);
    /// <summary>Commits the rows of <paramref name="report"/>'s result file under <paramref name="lease"/>; the ledger says whether it took them.</summary>
    Task<CommitOutcome> CommitAsync(string unitKey, int lease, UnitReport report);
    Task MarkRetriedAsync(string unitKey, int lease, string error);
    Task MarkFailedAsync(string unitKey, int lease, string error);
    /// <summary>Completes when every write asked for so far is done (or <paramref name="limit"/> has passed): before the run's end is recorded.</summary>
    Task FlushAsync(TimeSpan limit) => Task.CompletedTask;
}
