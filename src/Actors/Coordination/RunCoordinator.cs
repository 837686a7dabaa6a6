using Akka.Actor;
using Akka.Event;
using Sweep.Actors.Execution;

namespace Sweep.Actors.Coordination;

/// <summary>
/// Schedules one run's units. Workers pull (RequestWork) and are answered when a unit of their stage
/// is ready, i.e. all units it depends on are committed. A unit counts as done only after the ledger
/// committed it; a worker that dies loses its unit back to the queue; a failing unit is retried up to
/// maxAttempts times, then (or at once, for a permanent failure) the run fails with its error.
/// </summary>
public sealed class RunCoordinator : ReceiveActor
{
    private sealed record Committed(WorkUnit Unit, bool Reused);
    private sealed record CommitFailed(WorkUnit Unit, string Error);

    private readonly IRunLedger _ledger;
    private readonly IRunProgress _progress;
    private readonly TaskCompletionSource<RunOutcome> _outcome;
    private readonly int _maxAttempts;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly Dictionary<string, WorkUnit> _units;
    private readonly Dictionary<string, WorkUnit> _blocked = new();
    private readonly Dictionary<WorkStage, Queue<WorkUnit>> _ready = new();
    private readonly Dictionary<WorkStage, Queue<IActorRef>> _idleWorkers = new();
    private readonly Dictionary<string, IActorRef> _inFlight = new();
    private readonly HashSet<string> _done;
    private readonly Dictionary<string, int> _attempts = new();
    private readonly int _total;
    private int _run, _reused, _retries;

    public RunCoordinator(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> alreadyDone, IRunLedger ledger,
        IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, int maxAttempts)
    {
        _ledger = ledger; _progress = progress; _outcome = outcome; _maxAttempts = maxAttempts;
        _units = units.ToDictionary(u => u.Key);
        var unknown = units.SelectMany(u => u.DependsOn).Where(k => !_units.ContainsKey(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"units depend on keys not in the plan: {string.Join(", ", unknown.Take(3))}");
        _done = units.Where(u => alreadyDone.Contains(u.Key)).Select(u => u.Key).ToHashSet();
        _total = units.Count;
        foreach (WorkStage stage in Enum.GetValues<WorkStage>()) { _ready[stage] = new(); _idleWorkers[stage] = new(); }
        foreach (var unit in units.Where(u => !_done.Contains(u.Key))) _blocked[unit.Key] = unit;

        _progress.Planned(
            units.GroupBy(u => u.Stage).ToDictionary(g => g.Key, g => g.Count()),
            units.Where(u => _done.Contains(u.Key)).GroupBy(u => u.Stage).ToDictionary(g => g.Key, g => g.Count()));
        ReleaseReadyUnits();

        Receive<RequestWork>(OnRequestWork);
        Receive<WorkSucceeded>(OnWorkSucceeded);
        Receive<WorkFailed>(f => RetryOrFail(f.Unit, f.Error, f.Permanent));
        Receive<Committed>(OnCommitted);
        Receive<CommitFailed>(f => RetryOrFail(f.Unit, "committing to the ledger failed: " + f.Error, permanent: false));
        Receive<Terminated>(OnWorkerTerminated);
    }

    protected override void PreStart() => FinishIfComplete();

    private void OnRequestWork(RequestWork request)
    {
        Context.Watch(Sender);
        if (!TryAssign(request.Stage, Sender)) _idleWorkers[request.Stage].Enqueue(Sender);
    }

    private bool TryAssign(WorkStage stage, IActorRef worker)
    {
        if (!_ready[stage].TryDequeue(out var unit)) return false;
        _inFlight[unit.Key] = worker;
        _attempts[unit.Key] = _attempts.GetValueOrDefault(unit.Key) + 1;
        _ledger.MarkStartedAsync(unit, worker.Path.Name)
            .ContinueWith(t => _log.Warning("ledger: could not mark {0} started: {1}", unit.Key, t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
        worker.Tell(new WorkAssigned(unit));
        return true;
    }

    private void OnWorkSucceeded(WorkSucceeded success)
    {
        var self = Self;
        _ledger.MarkCompletedAsync(success.Unit, success.Result).ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new Committed(success.Unit, success.Result.Reused)
            : new CommitFailed(success.Unit, t.Exception?.GetBaseException().Message ?? "cancelled"))
            .PipeTo(self);
    }

    private void OnCommitted(Committed committed)
    {
        var unit = committed.Unit;
        _inFlight.Remove(unit.Key);
        if (!_done.Add(unit.Key)) return; // a duplicate completion (e.g. after a retry) changes nothing
        if (committed.Reused) _reused++; else _run++;
        _progress.UnitCompleted(unit, committed.Reused);
        ReleaseReadyUnits();
        FinishIfComplete();
    }

    private void RetryOrFail(WorkUnit unit, string error, bool permanent)
    {
        _inFlight.Remove(unit.Key);
        if (_done.Contains(unit.Key) || _outcome.Task.IsCompleted) return;
        int attempts = _attempts.GetValueOrDefault(unit.Key);
        if (permanent || attempts >= _maxAttempts)
        {
            var reason = permanent ? error : $"{unit.Description} failed {attempts} times; last error: {error}";
            _ledger.MarkFailedAsync(unit, error).ContinueWith(_ => { });
            _outcome.TrySetResult(RunOutcome.Failed(reason, _run, _reused, _retries));
            Context.Stop(Self);
            return;
        }
        _retries++;
        _progress.UnitRetried(unit, attempts, error);
        Enqueue(unit);
    }

    private void OnWorkerTerminated(Terminated terminated)
    {
        foreach (var queue in _idleWorkers.Values)
        {
            var alive = queue.Where(w => !w.Equals(terminated.ActorRef)).ToList();
            queue.Clear();
            foreach (var w in alive) queue.Enqueue(w);
        }
        foreach (var key in _inFlight.Where(kv => kv.Value.Equals(terminated.ActorRef)).Select(kv => kv.Key).ToList())
        {
            _log.Warning("worker {0} stopped while running {1}; re-queued", terminated.ActorRef.Path, key);
            _inFlight.Remove(key);
            Enqueue(_units[key]);
        }
    }

    private void ReleaseReadyUnits()
    {
        foreach (var unit in _blocked.Values.Where(u => u.DependsOn.All(_done.Contains)).ToList())
        {
            _blocked.Remove(unit.Key);
            Enqueue(unit);
        }
    }

    private void Enqueue(WorkUnit unit)
    {
        _ready[unit.Stage].Enqueue(unit);
        var idle = _idleWorkers[unit.Stage];
        while (idle.Count > 0 && _ready[unit.Stage].Count > 0)
            TryAssign(unit.Stage, idle.Dequeue());
    }

    private void FinishIfComplete()
    {
        if (_done.Count < _total) return;
        _outcome.TrySetResult(new RunOutcome(true, null, _run, _reused, _retries));
        Context.Stop(Self);
    }

    public static Props Props(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> alreadyDone, IRunLedger ledger,
        IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, int maxAttempts) =>
        Akka.Actor.Props.Create(() => new RunCoordinator(units, alreadyDone, ledger, progress, outcome, maxAttempts));
}
