using System.Collections.Concurrent;
using Npgsql;
using Polly;
using Polly.Retry;
using Sweep.Pipeline.Execution;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Ledger;

/// <summary>
/// The run's ledger in PostgreSQL. Writes are applied one after another in the order they were
/// asked for, so a unit's "started" can never land after its "completed". While the server is
/// unreachable (restarting, a network blip) every write waits and retries with capped exponential
/// backoff for up to <c>databaseWait</c>: the run pauses instead of failing units.
/// </summary>
public sealed class DatabaseRunLedger : IRunLedger
{
    public static readonly TimeSpan DefaultDatabaseWait = TimeSpan.FromMinutes(10);

    private readonly SweepDatabase _database;
    private readonly long _runId;
    private readonly ResiliencePipeline _waitForDatabase;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<(string Unit, int Lease), Task<int>> _attempts = new();
    private Task _tail = Task.CompletedTask;

    public DatabaseRunLedger(SweepDatabase database, long runId, TimeSpan? databaseWait = null)
    {
        _database = database; _runId = runId;
        // Timeout outside the retry: it bounds the whole wait, not one try.
        _waitForDatabase = new ResiliencePipelineBuilder()
            .AddTimeout(databaseWait ?? DefaultDatabaseWait)
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(IsServerGone),
                MaxRetryAttempts = int.MaxValue,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(5),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
            })
            .Build();
    }

    public Task MarkStartedAsync(string unitKey, int lease, string worker, string node)
    {
        var attempt = Enqueue(() => _database.StartAttemptAsync(_runId, unitKey, worker, node));
        _attempts[(unitKey, lease)] = attempt;
        return attempt;
    }

    public Task<CommitOutcome> CommitAsync(string unitKey, int lease, UnitResult result) =>
        Enqueue(async () => await _database.CommitUnitOnceAsync(_runId, unitKey, await AttemptOf(unitKey, lease), result.Output)
            ? CommitOutcome.Committed : CommitOutcome.AlreadyDone);

    public Task MarkRetriedAsync(string unitKey, int lease, string error) =>
        Enqueue(async () => { await _database.RetryAttemptAsync(_runId, unitKey, await AttemptOf(unitKey, lease), error); return true; });

    public Task MarkFailedAsync(string unitKey, int lease, string error) =>
        Enqueue(async () => { await _database.FailAttemptAsync(_runId, unitKey, await AttemptOf(unitKey, lease), error); return true; });

    // The server is down or restarting: unreachable, connections cut (class 08), or shutting down / starting up (class 57).
    private static bool IsServerGone(Exception e) => e switch
    {
        DatabaseUnavailableException => true,
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    // The ledger's attempt number for one of the coordinator's leases (0, matching no row, if its start was never recorded).
    private async Task<int> AttemptOf(string unitKey, int lease)
    {
        if (!_attempts.TryGetValue((unitKey, lease), out var started)) return 0;
        try { return await started; }
        catch (Exception) { return 0; }
    }

    private Task<T> Enqueue<T>(Func<Task<T>> write)
    {
        lock (_gate)
        {
            var next = _tail.ContinueWith(_ => _waitForDatabase.ExecuteAsync(async _ => await write()).AsTask(), TaskScheduler.Default).Unwrap();
            _tail = next;
            return next;
        }
    }
}
