using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Sweep.Storage.Database;
using Sweep.Pipeline.Ledger;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Coordination;

/// <summary>
/// Schedules one run's units: a thin actor around the run's <see cref="WorkState{TWorker}"/>. Workers pull
/// (RequestWork) and are answered when a unit of their stage is ready, i.e. all units it depends on are committed. A
/// handed-out unit is leased: the worker renews the lease with heartbeats; a lease that runs out, a worker that stops,
/// or a node that becomes unreachable puts the unit back in the queue. Every reported result goes to the ledger, which
/// commits the first result of the current lease and refuses duplicates and stale leases, so at-least-once execution
/// gives exactly-once results. A unit leased maxAttempts times without success (or failing permanently) fails the run
/// with its error. Everything the schedule holds is read and changed on this actor's thread only.
/// </summary>
public sealed class RunCoordinator : ReceiveActor, IWithTimers
{
    private sealed record CommitAnswered(string Key, int Lease, bool Reused, CommitOutcome Outcome);
    private sealed record CommitFailed(string Key, int Lease, string Error);
    private sealed record CheckLeases
    {
        public static readonly CheckLeases Instance = new();
    }

    private readonly WorkState<IActorRef> _state;
    private readonly IRunLedger _ledger;
    private readonly IRunProgress _progress;
    private readonly TaskCompletionSource<RunOutcome> _outcome;
    private readonly LeaseSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<WorkStage, Queue<IActorRef>> _idleWorkers = Enum.GetValues<WorkStage>().ToDictionary(s => s, _ => new Queue<IActorRef>());
    private readonly Dictionary<IActorRef, (string Worker, string Node)> _workerNames = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public RunCoordinator(WorkState<IActorRef> state, IRunLedger ledger, IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, LeaseSettings settings)
    {
        _state = state; _ledger = ledger; _progress = progress; _outcome = outcome; _settings = settings;

        Receive<RequestWork>(OnRequestWork);
        Receive<WorkProgress>(p => _state.Renew(p.UnitKey, p.Lease, Deadline()));
        Receive<WorkSucceeded>(OnWorkSucceeded);
        Receive<WorkFailed>(f => Decide(f.UnitKey, f.Lease, f.Error, f.Permanent));
        Receive<CommitAnswered>(OnCommitAnswered);
        Receive<CommitFailed>(f => Decide(f.Key, f.Lease, "committing to the ledger failed: " + f.Error, permanent: false));
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

    private DateTime Deadline() => DateTime.UtcNow + _settings.Lease;

    private void OnRequestWork(RequestWork request)
    {
        Context.Watch(Sender);
        _workerNames[Sender] = (request.Worker, request.Node);
        if (!TryAssign(request.Stage, Sender)) _idleWorkers[request.Stage].Enqueue(Sender);
    }

    private bool TryAssign(WorkStage stage, IActorRef worker)
    {
        if (_state.Assign(stage, worker, Deadline()) is not { } lease) return false;
        var (name, node) = _workerNames.GetValueOrDefault(worker, (worker.Path.Name, "local"));
        _ledger.MarkStartedAsync(lease.Key, lease.Number, name, node)
            .ContinueWith(t => _log.Warning("ledger: could not mark {0} started: {1}", lease.Key, t.Exception?.GetBaseException().Message),
                TaskContinuationOptions.OnlyOnFaulted);
        worker.Tell(new WorkAssigned(lease.Key, lease.Number));
        return true;
    }

    /// <summary>Hands ready units to idle workers of their stage.</summary>
    private void Dispatch()
    {
        foreach (var (stage, idle) in _idleWorkers)
            while (idle.Count > 0 && _state.ReadyCount(stage) > 0) TryAssign(stage, idle.Dequeue());
    }

    private void OnWorkSucceeded(WorkSucceeded success)
    {
        if (!_state.IsKnown(success.UnitKey)) return;
        // Whatever the lease, the ledger decides: it commits the current lease's first result and refuses the rest.
        _state.BeginCommit(success.UnitKey, success.Lease);
        var self = Self;
        _ledger.CommitAsync(success.UnitKey, success.Lease, success.Report).ContinueWith(t => t.IsCompletedSuccessfully
            ? (object)new CommitAnswered(success.UnitKey, success.Lease, success.Report.Reused, t.Result)
            : new CommitFailed(success.UnitKey, success.Lease, t.Exception?.GetBaseException().Message ?? "cancelled"))
            .PipeTo(self);
    }

    private void OnCommitAnswered(CommitAnswered answer)
    {
        if (answer.Outcome == CommitOutcome.StaleLease)
        {
            // Refused: a newer lease holds the unit. Only if this lease was being committed (it cannot be) would it matter.
            if (_state.IsCommitting(answer.Key)) Decide(answer.Key, answer.Lease, "the ledger refused the commit of a stale lease", permanent: false);
            return;
        }
        bool wasDone = _state.IsDone(answer.Key);
        _state.Committed(answer.Key, answer.Reused, counted: answer.Outcome == CommitOutcome.Committed);
        if (!wasDone) _progress.UnitCompleted(_state.Unit(answer.Key), answer.Reused);
        Dispatch();
        FinishIfComplete();
    }

    private void Decide(string key, int lease, string error, bool permanent)
    {
        if (_outcome.Task.IsCompleted || !_state.IsKnown(key)) return;
        switch (_state.Fail(key, lease, error, permanent))
        {
            case WorkState<IActorRef>.FailureDecision.Retry retry:
                _progress.UnitRetried(_state.Unit(key), retry.Attempt, error);
                _ledger.MarkRetriedAsync(key, lease, error)
                    .ContinueWith(t => _log.Warning("ledger: could not record the retry of {0}: {1}", key, t.Exception?.GetBaseException().Message),
                        TaskContinuationOptions.OnlyOnFaulted);
                Dispatch();
                break;
            case WorkState<IActorRef>.FailureDecision.FailRun fail:
                var self = Self;
                var (run, reused, retries) = (_state.UnitsRun, _state.UnitsReused, _state.Retries);
                // The run's outcome is reported once the failure is in the ledger, so a caller that reads the ledger sees it.
                _ledger.MarkFailedAsync(key, lease, error).ContinueWith(_ =>
                {
                    _outcome.TrySetResult(RunOutcome.Failed(fail.Reason, run, reused, retries));
                    self.Tell(PoisonPill.Instance);
                });
                Become(Failing);
                break;
        }
    }

    private void Failing() => ReceiveAny(_ => { });

    private void ExpireLeases()
    {
        foreach (var lease in _state.Expired(DateTime.UtcNow))
        {
            var (name, _) = _workerNames.GetValueOrDefault(lease.Worker, (lease.Worker.Path.Name, "local"));
            _log.Warning("lease of {0} on {1} expired; re-queued", lease.Key, name);
            Decide(lease.Key, lease.Number, $"no heartbeat from {name} for {_settings.Lease.TotalSeconds:0.#}s (lease expired)", permanent: false);
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
        foreach (var lease in _state.HeldBy(lost))
        {
            _log.Warning("{0} while running {1}; re-queued", why, lease.Key);
            Decide(lease.Key, lease.Number, $"{why} while running it", permanent: false);
        }
    }

    private void FinishIfComplete()
    {
        if (!_state.IsComplete) return;
        _outcome.TrySetResult(new RunOutcome(true, null, _state.UnitsRun, _state.UnitsReused, _state.Retries));
        Context.Stop(Self);
    }

    public static Props Props(WorkState<IActorRef> state, IRunLedger ledger, IRunProgress progress, TaskCompletionSource<RunOutcome> outcome,
        LeaseSettings settings) =>
        Akka.Actor.Props.Create(() => new RunCoordinator(state, ledger, progress, outcome, settings));

    /// <summary>A coordinator for <paramref name="units"/>, <paramref name="done"/> already committed, lease numbers after <paramref name="lastLease"/>.</summary>
    public static Props Props(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> done, IReadOnlyDictionary<string, int> lastLease,
        IRunLedger ledger, IRunProgress progress, TaskCompletionSource<RunOutcome> outcome, LeaseSettings settings)
    {
        var state = new WorkState<IActorRef>(units, done, lastLease, settings.MaxAttempts);
        progress.Planned(
            units.GroupBy(u => u.Stage).ToDictionary(g => g.Key, g => g.Count()),
            units.Where(u => done.Contains(u.Key)).GroupBy(u => u.Stage).ToDictionary(g => g.Key, g => g.Count()));
        return Props(state, ledger, progress, outcome, settings);
    }
}
