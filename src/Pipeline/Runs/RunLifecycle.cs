using Sweep.Identity;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Ledger;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// A run from the ledger's point of view, the same whoever executes it (one process or a cluster's coordinator):
/// its row is created (or, resumed, its job re-validated), it is marked running and stamps its heartbeat, its store is
/// checked, its job prepared, its corpus's labels and its units recorded; when execution ends it is marked succeeded,
/// failed with the reason, or interrupted (stopped on purpose). Any failure after the run row exists marks the run
/// failed; ending leaves no unit or attempt 'running'.
/// </summary>
public sealed class StartedRun : IAsyncDisposable
{
    private readonly SweepDatabase _database;
    private readonly RunHeartbeat _heartbeat;

    public long RunId { get; }
    public PreparedRun Prepared { get; }
    /// <summary>Planned units the ledger already holds as done (none for a new run; the verified ones for a resumed run).</summary>
    public IReadOnlySet<string> Done { get; }
    /// <summary>The run's durable record of leases and commits.</summary>
    public IRunLedger Ledger { get; }
    /// <summary>The ledger's last lease number per unit: new leases continue after it.</summary>
    public IReadOnlyDictionary<string, int> LastLeases { get; }

    public JobSpec Spec => Prepared.Context.Spec;

    private StartedRun(SweepDatabase database, long runId, RunHeartbeat heartbeat, PreparedRun prepared, IReadOnlySet<string> done,
        IReadOnlyDictionary<string, int> lastLeases)
    {
        _database = database; RunId = runId; _heartbeat = heartbeat; Prepared = prepared; Done = done; LastLeases = lastLeases;
        Ledger = new DatabaseRunLedger(database, runId);
    }

    /// <summary>
    /// Creates the run row (pending), remembers the job file's path for a later <c>--resume</c> and copies what the
    /// models' folders say they score on held-out text (<see cref="ModelEvaluations"/>).
    /// </summary>
    public static async Task<long> CreateAsync(JobSpec spec, SweepDatabase database, CancellationToken ct)
    {
        long runId = await database.CreateRunAsync(spec.Name, spec.SourceText, spec.Digest, Path.GetFullPath(spec.Output.Store), ct);
        await database.SetRunJobPathAsync(runId, Path.GetFullPath(spec.File), ct);
        await ModelEvaluations.RecordAsync(spec, runId, database, ct);
        return runId;
    }

    /// <summary>
    /// Marks run <paramref name="runId"/> running and makes it ready to execute. <paramref name="resume"/>: the ledger's
    /// done units are verified and kept, the rest reopened. Throws <see cref="RunFailedException"/> (the run marked failed).
    /// </summary>
    /// <param name="interruptedBy">How a cancellation of <paramref name="ct"/> came about ("SIGINT"), for the interrupted run's record.</param>
    public static async Task<StartedRun> StartAsync(SweepDatabase database, long runId, JobSpec spec, bool resume, CancellationToken ct,
        Func<string>? interruptedBy = null)
    {
        await database.SetRunStatusAsync(runId, RunStatus.Running, ct: CancellationToken.None);
        var heartbeat = RunHeartbeat.Start(database, runId);
        try
        {
            ct.ThrowIfCancellationRequested();
            EnsureWritable(Path.GetFullPath(spec.Output.Store));
            var prepared = PreparedRun.Prepare(spec, runId);
            if (prepared.Context.Corpus.Labels is { } labels)
                await database.ReplaceCorpusLabelsAsync(runId, LabelRows(labels, prepared.Context.Corpus.SequenceLines), ct);
            ct.ThrowIfCancellationRequested();
            await database.UpsertUnitsAsync(runId, prepared.Units.Select(u => new UnitRecord(u.Key, StageNames.Of(u.Stage), u.Description)), ct);
            var done = resume ? await RunResumer.ReopenAsync(database, runId, prepared, ct) : new HashSet<string>();
            var leases = (await database.GetUnitsAsync(runId, ct)).Where(u => u.Lease > 0).ToDictionary(u => u.UnitKey, u => u.Lease);
            return new StartedRun(database, runId, heartbeat, prepared, done, leases);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await heartbeat.DisposeAsync();
            throw await MarkInterruptedAsync(database, runId, interruptedBy?.Invoke());
        }
        catch (Exception e)
        {
            await heartbeat.DisposeAsync();
            throw await MarkFailedAsync(database, runId, e);
        }
    }

    /// <summary>The corpus's labels as <c>corpus_labels</c> rows: per sequence, its document's line and each field's value (the same on every start of the run).</summary>
    private static List<CorpusLabelRow> LabelRows(Sweep.Jobs.Corpus.CorpusLabels labels, IReadOnlyList<int> sequenceLines) =>
        [.. Enumerable.Range(0, labels.SequenceCount).SelectMany(seq => labels.Fields.Select((field, f) => new CorpusLabelRow(seq, sequenceLines[seq], field, labels.BySequence[seq][f])))];

    /// <summary>Records how execution ended; a failed outcome throws <see cref="RunFailedException"/> with its error.</summary>
    public async Task<RunReport> FinishAsync(RunOutcome outcome)
    {
        if (!outcome.Succeeded) throw await FailAsync(new RunFailedException(RunId, outcome.Error ?? "the run failed"));
        await Ledger.FlushAsync(FlushLimit);
        await _database.SetRunStatusAsync(RunId, RunStatus.Succeeded, ct: CancellationToken.None);
        RemoveWorkFiles();
        return new RunReport(RunId, outcome, Prepared.Context.StoreDirectory, Prepared.Plan.Captures.Count, Prepared.Units.Count(u => u.Stage == WorkStage.Analysis),
            Prepared.Context.Corpus.TokenCount, await _database.GetMetricsAsync(RunId, CancellationToken.None));
    }

    /// <summary>
    /// Marks the run failed with the reason <paramref name="e"/> gives, once the ledger's pending writes are done (so none
    /// lands after it: the run's attempts still open are closed as abandoned); returns the exception to throw.
    /// </summary>
    public async Task<RunFailedException> FailAsync(Exception e)
    {
        await Ledger.FlushAsync(FlushLimit);
        return await MarkFailedAsync(_database, RunId, e);
    }

    /// <summary>
    /// Marks the run interrupted (it was stopped on purpose, <paramref name="how"/>: "SIGINT"), once the ledger's pending
    /// writes are done; its attempts still open are closed as abandoned. Returns the exception to throw.
    /// </summary>
    public async Task<RunInterruptedException> InterruptAsync(string? how)
    {
        await Ledger.FlushAsync(FlushLimit);
        return await MarkInterruptedAsync(_database, RunId, how);
    }

    /// <summary>How long the end of a run waits for ledger writes still queued (the database may be away).</summary>
    private static readonly TimeSpan FlushLimit = TimeSpan.FromSeconds(30);

    private static async Task<RunFailedException> MarkFailedAsync(SweepDatabase database, long runId, Exception e)
    {
        var reason = e is OperationCanceledException ? "cancelled" : e.Message;
        await database.SetRunStatusAsync(runId, RunStatus.Failed, reason, CancellationToken.None);
        return e as RunFailedException ?? new RunFailedException(runId, reason, e);
    }

    private static async Task<RunInterruptedException> MarkInterruptedAsync(SweepDatabase database, long runId, string? how)
    {
        how ??= "cancelled";
        await database.SetRunStatusAsync(runId, RunStatus.Interrupted, $"stopped by {how}", CancellationToken.None);
        return new RunInterruptedException(runId, how);
    }

    /// <summary>
    /// A succeeded run's result files are all committed (and its partial statistics merged into its rows): their folders
    /// under the store go. A failed run keeps them, so a resume reuses its verified partials.
    /// </summary>
    private void RemoveWorkFiles()
    {
        foreach (var folder in new[] { Keys.ResultsFolder(RunId), Keys.PartialsFolder(RunId) })
        {
            try { Directory.Delete(Path.Combine(Prepared.Context.StoreDirectory, folder), recursive: true); }
            catch (DirectoryNotFoundException) { }
            catch (IOException) { }
        }
    }

    /// <summary>Stops the heartbeat: this process no longer drives the run.</summary>
    public ValueTask DisposeAsync() => _heartbeat.DisposeAsync();

    public static void EnsureWritable(string store)
    {
        try
        {
            Directory.CreateDirectory(store);
            var probe = Path.Combine(store, $".write-probe-{Environment.ProcessId}");
            File.WriteAllText(probe, "");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"store directory {store} is not writable ({e.Message})", e);
        }
    }
}
