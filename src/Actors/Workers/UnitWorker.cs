using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Workers;

/// <summary>
/// Who a worker is in the ledger: its node (host:port, or "local") and how often it renews a lease.
/// <paramref name="Unavailable"/>: why this node cannot run the job at all; every unit it is given fails with it.
/// </summary>
public sealed record WorkerSettings(string Node, TimeSpan Heartbeat, string? Unavailable = null)
{
    public static WorkerSettings Local(LeaseSettings lease) => new("local", lease.Heartbeat);
}

/// <summary>
/// Pulls units of one stage from the coordinator and runs them with its executor, one at a time.
/// Idle: asks for work and waits. Busy: the executor runs off the actor's thread while the worker
/// renews the unit's lease with heartbeats; the executor writes the unit's outputs (its rows in a result file) and
/// only a short report of them goes back to the coordinator, then the worker
/// asks again. It never holds more than one unit, so a slow worker never drowns (work-pulling).
/// Units arrive as keys and are looked up in this node's own plan of the run.
/// </summary>
public sealed class UnitWorker : ReceiveActor, IWithTimers
{
    private sealed record Executed(string Key, int Lease, UnitReport Report);
    private sealed record ExecutionFailed(string Key, int Lease, Exception Error);
    private sealed record Beat(string Key, int Lease);

    private readonly WorkStage _stage;
    private readonly IActorRef _coordinator;
    private readonly IUnitExecutor _executor;
    private readonly IReadOnlyDictionary<string, WorkUnit> _units;
    private readonly WorkerSettings _settings;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;

    public ITimerScheduler Timers { get; set; } = null!;

    public UnitWorker(WorkStage stage, IActorRef coordinator, IUnitExecutor executor, IReadOnlyDictionary<string, WorkUnit> units, WorkerSettings settings)
    {
        _stage = stage; _coordinator = coordinator; _executor = executor; _units = units; _settings = settings;
        Idle();
    }

    protected override void PreStart()
    {
        Context.Watch(_coordinator);
        AskForWork();
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        // An execution still running (the run was interrupted) may be inside the model: dispose it when it has returned.
        if (_running is { IsCompleted: false } running) running.ContinueWith(_ => _executor.Dispose(), TaskScheduler.Default);
        else _executor.Dispose();
    }

    private void Idle()
    {
        Receive<WorkAssigned>(assigned =>
        {
            if (!_units.TryGetValue(assigned.UnitKey, out var unit))
            {
                _coordinator.Tell(new WorkFailed(assigned.UnitKey, assigned.Lease, _settings.Unavailable
                    ?? $"node {_settings.Node} planned this job without unit {assigned.UnitKey}: its job files differ from the coordinator's", Permanent: true));
                AskForWork();
                return;
            }
            var self = Self;
            var running = Task.Run(() => _executor.ExecuteAsync(unit, assigned.Lease, _stopping.Token));
            _running = running;
            running.ContinueWith(t => t.IsCompletedSuccessfully
                ? (object)new Executed(unit.Key, assigned.Lease, t.Result)
                : new ExecutionFailed(unit.Key, assigned.Lease, t.Exception?.GetBaseException() ?? new OperationCanceledException()))
                .PipeTo(self);
            Timers.StartPeriodicTimer("heartbeat", new Beat(unit.Key, assigned.Lease), _settings.Heartbeat);
            Become(Busy);
        });
        CoordinatorGone();
    }

    private void Busy()
    {
        Receive<Beat>(beat => _coordinator.Tell(new WorkProgress(beat.Key, beat.Lease)));
        Receive<Executed>(done =>
        {
            _coordinator.Tell(new WorkSucceeded(done.Key, done.Lease, done.Report));
            BecomeIdleAndAsk();
        });
        Receive<ExecutionFailed>(failed =>
        {
            _coordinator.Tell(new WorkFailed(failed.Key, failed.Lease, failed.Error.Message, failed.Error is PermanentUnitFailure));
            BecomeIdleAndAsk();
        });
        CoordinatorGone();
    }

    // The run ended (or its coordinator died): nothing is left to pull.
    private void CoordinatorGone() => Receive<Terminated>(t => t.ActorRef.Equals(_coordinator), _ => Context.Stop(Self));

    private void BecomeIdleAndAsk()
    {
        Timers.Cancel("heartbeat");
        Become(Idle);
        AskForWork();
    }

    private void AskForWork() => _coordinator.Tell(new RequestWork(_stage, Self.Path.Name, _settings.Node));

    public static Props Props(WorkStage stage, IActorRef coordinator, IUnitExecutor executor,
        IReadOnlyDictionary<string, WorkUnit> units, WorkerSettings settings) =>
        Akka.Actor.Props.Create(() => new UnitWorker(stage, coordinator, executor, units, settings));
}
