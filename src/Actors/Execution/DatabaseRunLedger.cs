using Sweep.Storage.Database;

namespace Sweep.Actors.Execution;

/// <summary>
/// The run's ledger in PostgreSQL. Writes are applied one after another in the order they were
/// asked for, so a unit's "started" can never land after its "completed".
/// </summary>
public sealed class DatabaseRunLedger(SweepDatabase database, long runId) : IRunLedger
{
    private readonly object _gate = new();
    private Task _tail = Task.CompletedTask;

    public Task MarkStartedAsync(WorkUnit unit, string worker) => Enqueue(() => database.StartUnitAsync(runId, unit.Key, worker));

    public Task MarkCompletedAsync(WorkUnit unit, UnitResult result) => Enqueue(() => database.CompleteUnitAsync(runId, unit.Key, result.Output));

    public Task MarkFailedAsync(WorkUnit unit, string error) => Enqueue(() => database.FailUnitAsync(runId, unit.Key, error));

    private Task Enqueue(Func<Task> write)
    {
        lock (_gate)
        {
            var next = _tail.ContinueWith(_ => write(), TaskScheduler.Default).Unwrap();
            _tail = next;
            return next;
        }
    }
}
