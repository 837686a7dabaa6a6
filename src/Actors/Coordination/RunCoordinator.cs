using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Sweep.Actors.Execution;

namespace Sweep.Actors.Coordination;

/// <summary>
/// Schedules one run's units. Workers pull (RequestWork) and are answered when a unit of their stage
/// is ready, i.e. all units it depends on are committed. A handed-out unit is leased: the worker
/// renews the lease with heartbeats; a lease that runs out, a worker that stops, or a node that
/// becomes unreachable puts the unit back in the queue. A unit counts as done only after the ledger
/// committed it, and the first commit wins, so at-least-once execution gives exactly-once results.
/// A unit leased maxAttempts times without success (or failing permanently) fails the run with its error.
/// </summary>
public sealed class RunCoordinator : ReceiveActor, IWithTimers
{
    private sealed record Committed(WorkUnit Unit, bool Reused, bool First);
    private sealed record CommitFailed(WorkUnit Unit, int Lease, string Error);
    private sealed record CheckLeases
    {
        public static readonly CheckLeases Instance = new();
    }

    private sealed record Lease(IActorRef Worker, string WorkerName, int Number, DateTime Deadline);

    private readonly IRunLedger _ledger;
    private readonly IRunProgress _progress;
    private readonly TaskCompletionSource<RunOutcome> _outcome;
    private readonly LeaseSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();

    private readonly Dictionary<string, WorkUnit> _units;
    private readonly Dictionary<string, WorkUnit> _blocked = new();
    private readonly Dictionary<WorkStage, Queue<WorkUnit>> _ready = new();
    private readonly Dictionary<WorkStage, Queue<IActorRef>> _idleWorkers = new();
    private readonly Dictionary<string, Lease> _leases = new();
    private readonly Dictionary<IActorRef, (string Worker, string Node)> _workerNames = new();
    private readonly HashSet<string> _committing = new();
    private readonly HashSet<string> _done;
    private readonly Dictionary<string, int> _attempts = new();
    private readonly int _total;
    private int _run, _reused, _retries;

    public ITimerScheduler Timers { get; set; } = null!;

    public RunCoordinator(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> alreadyDone, IRunLedger ledger,
        IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, LeaseSettings settings)
    {
        _ledger = ledger; _progress = progress; _outcome = outcome; _settings = settings;
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
        Receive<WorkProgress>(OnWorkProgress);
        Receive<WorkSucceeded>(OnWorkSucceeded);
        Receive<WorkFailed>(f => { if (IsCurrent(f.UnitKey, f.Lease)) RetryOrFail(_units[f.UnitKey], f.Lease, f.Error, f.Permanent); });
        Receive<Committed>(OnCommitted);
        Receive<CommitFailed>(f => { _committing.Remove(f.Unit.Key); RetryOrFail(f.Unit, f.Lease, "committing to the ledger failed: " + f.Error, permanent: false); });
        Receive<CheckLeases>(_ => ExpireLeases());
        Receive<Terminated>(t => LoseWorkers(w => w.Equals(t.ActorRef), $"worker {t.ActorRef.Path.Name} stopped"));
        Receive<ClusterEvent.UnreachableMember>(u => LoseWorkers(w => w.Path.Address.Equals(u.Member.Address),
            $"node {u.Member.Address.Host}:{u.Member.Address.Port} became unreachable"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<ClusterEvent.CurrentClusterState>(_ => { });
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("leases", CheckLeases.Instance, _settings.CheckInterval);
        if (Context.System.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal))
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.UnreachableMember));
        FinishIfComplete();
    }

    protected override void PostStop()
    {
        if (Context.System.Settings.ProviderClass.Contains("Cluster", StringComparison.Ordinal))
            Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private void OnRequestWork(RequestWork request)
    {
        Context.Watch(Sender);
        _workerNames[Sender] = (request.Worker, request.Node);
        if (!TryAssign(request.Stage, Sender, request.Worker, request.Node)) _idleWorkers[request.Stage].Enqueue(Sender);
    }

    private bool TryAssign(WorkStage stage, IActorRef worker, string workerName, string node)
    {
        WorkUnit? unit;
        // Skip a re-queued unit whose late result is being committed (or already was).
        do { if (!_ready[stage].TryDequeue(out unit)) return false; } while (_committing.Contains(unit.Key) || _done.Contains(unit.Key));
        int lease = _attempts[unit.Key] = _attempts.GetValueOrDefault(unit.Key) + 1;
        _leases[unit.Key] = new Lease(worker, workerName, lease, DateTime.UtcNow + _settings.Lease);
        _ledger.MarkStartedAsync(unit, lease, workerName, node)
            .ContinueWith(t => _log.Warning("ledger: could not mark {0} started: {1}", unit.Key, t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
        worker.Tell(new WorkAssigned(unit.Key, lease));
        return true;
    }

    private bool IsCurrent(string key, int lease) => _leases.TryGetValue(key, out var current) && current.Number == lease;

    private void OnWorkProgress(WorkProgress progress)
    {
        if (_leases.TryGetValue(progress.UnitKey, out var lease) && lease.Number == progress.Lease)
            _leases[progress.UnitKey] = lease with { Deadline = DateTime.UtcNow + _settings.Lease };
    }

    private void OnWorkSucceeded(WorkSucceeded success)
    {
        // A late result (its lease expired and the unit went to another worker) is as good as any:
        // the first result to arrive is committed, later ones are dropped.
        if (!_units.TryGetValue(success.UnitKey, out var unit) || _done.Contains(unit.Key) || !_committing.Add(unit.Key)) return;
        _leases.Remove(unit.Key);
        var self = Self;
        _ledger.MarkCompletedAsync(unit, success.Lease, success.Result).ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new Committed(unit, success.Result.Reused, t.Result)
            : new CommitFailed(unit, success.Lease, t.Exception?.GetBaseException().Message ?? "cancelled"))
            .PipeTo(self);
    }

    private void OnCommitted(Committed committed)
    {
        var unit = committed.Unit;
        _committing.Remove(unit.Key);
        _leases.Remove(unit.Key);
        RemoveQueued(unit);
        if (!_done.Add(unit.Key)) return;
        if (committed.Reused) _reused++; else _run++;
        _progress.UnitCompleted(unit, committed.Reused);
        ReleaseReadyUnits();
        FinishIfComplete();
    }

    private void RetryOrFail(WorkUnit unit, int lease, string error, bool permanent)
    {
        _leases.Remove(unit.Key);
        if (_done.Contains(unit.Key) || _committing.Contains(unit.Key) || _outcome.Task.IsCompleted) return;
        int attempts = _attempts.GetValueOrDefault(unit.Key);
        if (permanent || attempts >= _settings.MaxAttempts)
        {
            var reason = permanent ? error : $"{unit.Description} failed {attempts} times; last error: {error}";
            var self = Self;
            // The run's outcome is reported once the failure is in the ledger, so a caller that reads the ledger sees it.
            _ledger.MarkFailedAsync(unit, lease, error).ContinueWith(_ =>
            {
                _outcome.TrySetResult(RunOutcome.Failed(reason, _run, _reused, _retries));
                self.Tell(PoisonPill.Instance);
            });
            Become(Failing);
            return;
        }
        _retries++;
        _progress.UnitRetried(unit, attempts, error);
        _ledger.MarkRetriedAsync(unit, lease, error)
            .ContinueWith(t => _log.Warning("ledger: could not record the retry of {0}: {1}", unit.Key, t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
        Enqueue(unit);
    }

    private void Failing() => ReceiveAny(_ => { });

    private void ExpireLeases()
    {
        var now = DateTime.UtcNow;
        foreach (var (key, lease) in _leases.Where(kv => kv.Value.Deadline < now).ToList())
        {
            _log.Warning("lease of {0} on {1} expired; re-queued", key, lease.WorkerName);
            RetryOrFail(_units[key], lease.Number, $"no heartbeat from {lease.WorkerName} for {_settings.Lease.TotalSeconds:0.#}s (lease expired)", permanent: false);
        }
    }

    private void LoseWorkers(Func<IActorRef, bool> lost, string why)
    {
        foreach (var queue in _idleWorkers.Values)
        {
            var alive = queue.Where(w => !lost(w)).ToList();
            queue.Clear();
            foreach (var w in alive) queue.Enqueue(w);
        }
        foreach (var (key, lease) in _leases.Where(kv => lost(kv.Value.Worker)).ToList())
        {
            _log.Warning("{0} while running {1}; re-queued", why, key);
            RetryOrFail(_units[key], lease.Number, $"{why} while running it", permanent: false);
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
        if (_ready[unit.Stage].Contains(unit)) return;
        _ready[unit.Stage].Enqueue(unit);
        var idle = _idleWorkers[unit.Stage];
        while (idle.Count > 0 && _ready[unit.Stage].Count > 0)
        {
            var worker = idle.Dequeue();
            var (name, node) = _workerNames.GetValueOrDefault(worker, (worker.Path.Name, "local"));
            TryAssign(unit.Stage, worker, name, node);
        }
    }

    // A unit re-queued after its lease expired may still be committed by its first worker; drop the copy.
    private void RemoveQueued(WorkUnit unit)
    {
        var queue = _ready[unit.Stage];
        if (!queue.Contains(unit)) return;
        var rest = queue.Where(u => u.Key != unit.Key).ToList();
        queue.Clear();
        foreach (var u in rest) queue.Enqueue(u);
    }

    private void FinishIfComplete()
    {
        if (_done.Count < _total) return;
        _outcome.TrySetResult(new RunOutcome(true, null, _run, _reused, _retries));
        Context.Stop(Self);
    }

    public static Props Props(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> alreadyDone, IRunLedger ledger,
        IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, LeaseSettings settings) =>
        Akka.Actor.Props.Create(() => new RunCoordinator(units, alreadyDone, ledger, progress, outcome, settings));
}
