using Sweep.Storage.Database;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// Stamps a running run's heartbeat every <see cref="Interval"/> while this process drives it, so that a run whose
/// driver was killed (it stays 'running' in the ledger) can be told from one still going. A stamp that fails (the
/// database briefly away) is simply tried again at the next beat: the heartbeat never fails a run.
/// </summary>
public sealed class RunHeartbeat : IAsyncDisposable
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    /// <summary>A running run whose heartbeat is older than this has lost its driver (three beats missed).</summary>
    public static readonly TimeSpan StaleAfter = 3 * Interval;

    private readonly CancellationTokenSource _stop = new();
    private readonly Task _beating;

    private RunHeartbeat(SweepDatabase database, long runId, TimeSpan interval) => _beating = BeatAsync(database, runId, interval, _stop.Token);

    public static RunHeartbeat Start(SweepDatabase database, long runId, TimeSpan? interval = null) => new(database, runId, interval ?? Interval);

    /// <summary>Whether <paramref name="run"/> says 'running' but nothing has driven it for longer than <see cref="StaleAfter"/>.</summary>
    public static bool LostItsDriver(RunRecord run) => run.Status == RunStatus.Running && run.HeartbeatAge > StaleAfter;

    /// <summary>For a run that lost its driver, the line that says so and how to continue it; otherwise null.</summary>
    public static string? Warning(RunRecord run) => LostItsDriver(run)
        ? $"run {run.RunId} has had no driver for {Describe(run.HeartbeatAge!.Value)} (the process running it stopped without finishing it): sweep run --resume {run.RunId} continues it"
        : null;

    private static string Describe(TimeSpan age) =>
        age < TimeSpan.FromMinutes(1) ? $"{age.Seconds} s"
        : age < TimeSpan.FromHours(1) ? $"{age.Minutes} min {age.Seconds} s"
        : $"{(long)age.TotalHours} h {age.Minutes} min";

    private static async Task BeatAsync(SweepDatabase database, long runId, TimeSpan interval, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                try { await database.TouchRunAsync(runId, stop); }
                catch (Exception e) when (e is not OperationCanceledException) { }
            }
        }
        catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _beating;
        _stop.Dispose();
    }
}
