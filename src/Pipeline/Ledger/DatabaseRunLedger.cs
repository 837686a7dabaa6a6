using Npgsql;
using Polly;
using Polly.Retry;
using Sweep.Pipeline.Results;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Ledger;

/// <summary>
/// The run's ledger in PostgreSQL. A lease's number is its attempt number there. Writes are applied one after another
/// in the order they were asked for, so a unit's "started" can never land after its commit. While the server is
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

    public Task MarkStartedAsync(string unitKey, int lease, string worker, string node) =>
        Enqueue(() => _database.StartAttemptAsync(_runId, unitKey, lease, worker, node));

    /// <summary>
    /// Reads the unit's result file (off the write queue: a large file never holds up other units' writes), checks it
    /// against the reported checksum, then commits its rows by binary COPY in the ledger's first-commit-wins transaction
    /// keyed by (unit, lease). Once the ledger has answered, the file has served its purpose and is removed.
    /// </summary>
    public async Task<CommitOutcome> CommitAsync(string unitKey, int lease, UnitReport report)
    {
        var output = await Task.Run(() => ResultFile.Read(report.ResultFile, report.Checksum));
        var outcome = await Enqueue(() => _database.CommitUnitAsync(_runId, unitKey, lease, output));
        try { File.Delete(report.ResultFile); }
        catch (IOException) { }
        return outcome;
    }

    public Task MarkRetriedAsync(string unitKey, int lease, string error) =>
        Enqueue(async () => { await _database.RetryAttemptAsync(_runId, unitKey, lease, error); return true; });

    public Task MarkFailedAsync(string unitKey, int lease, string error) =>
        Enqueue(async () => { await _database.FailAttemptAsync(_runId, unitKey, lease, error); return true; });

    public async Task FlushAsync(TimeSpan limit)
    {
        Task tail;
        lock (_gate) tail = _tail;
        // A write that failed was reported to whoever asked for it; here only its completion matters.
        await Task.WhenAny(tail.ContinueWith(_ => { }, TaskScheduler.Default), Task.Delay(limit));
    }

    // The server is down or restarting: unreachable, connections cut (class 08), or shutting down / starting up (class 57).
    private static bool IsServerGone(Exception e) => e switch
    {
        DatabaseUnavailableException => true,
        PostgresException pg => pg.SqlState.StartsWith("08", StringComparison.Ordinal) || pg.SqlState.StartsWith("57P", StringComparison.Ordinal),
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

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
