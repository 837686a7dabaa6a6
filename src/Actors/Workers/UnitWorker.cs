using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Execution;

namespace Sweep.Actors.Workers;

/// <summary>
/// Pulls units of one stage from the coordinator and runs them with its executor, one at a time.
/// Idle: asks for work and waits. Busy: the executor runs off the actor's thread; its result goes
/// back to the coordinator, then the worker asks again. It never holds more than one unit, so a
/// slow worker never drowns (work-pulling).
/// </summary>
public sealed class UnitWorker : ReceiveActor
{
    private sealed record Executed(WorkUnit Unit, UnitResult Result);
    private sealed record ExecutionFailed(WorkUnit Unit, Exception Error);

    private readonly WorkStage _stage;
    private readonly IActorRef _coordinator;
    private readonly IUnitExecutor _executor;
    private readonly CancellationTokenSource _stopping = new();

    public UnitWorker(WorkStage stage, IActorRef coordinator, IUnitExecutor executor)
    {
        _stage = stage; _coordinator = coordinator; _executor = executor;
        Idle();
    }

    protected override void PreStart() => AskForWork();

    protected override void PostStop()
    {
        _stopping.Cancel();
        _executor.Dispose();
    }

    private void Idle()
    {
        Receive<WorkAssigned>(assigned =>
        {
            var unit = assigned.Unit;
            var self = Self;
            Task.Run(() => _executor.ExecuteAsync(unit, _stopping.Token)).ContinueWith(t => t.IsCompletedSuccessfully
                ? (object)new Executed(unit, t.Result)
                : new ExecutionFailed(unit, t.Exception?.GetBaseException() ?? new OperationCanceledException()))
                .PipeTo(self);
            Become(Busy);
        });
    }

    private void Busy()
    {
        Receive<Executed>(done =>
        {
            _coordinator.Tell(new WorkSucceeded(done.Unit, done.Result, Self.Path.Name));
            BecomeIdleAndAsk();
        });
        Receive<ExecutionFailed>(failed =>
        {
            _coordinator.Tell(new WorkFailed(failed.Unit, failed.Error.Message, failed.Error is PermanentUnitFailure, Self.Path.Name));
            BecomeIdleAndAsk();
        });
    }

    private void BecomeIdleAndAsk()
    {
        Become(Idle);
        AskForWork();
    }

    private void AskForWork() => _coordinator.Tell(new RequestWork(_stage, Self.Path.Name));

    public static Props Props(WorkStage stage, IActorRef coordinator, IUnitExecutor executor) =>
        Akka.Actor.Props.Create(() => new UnitWorker(stage, coordinator, executor));
}
