using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Sweep.Actors.Coordination;
using Sweep.Actors.Hosting;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Workers;

/// <summary>What a node's agent tells the process hosting it: admitted by the coordinator, or refused (with the reason).</summary>
public sealed class NodeSignals
{
    public TaskCompletionSource Welcomed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource<string> Refused { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// A node's representative with the cluster coordinator. Once the node is up it proves the shared
/// secret (and keeps asking until the coordinator singleton answers); once welcomed it prepares each
/// run it is told about and starts this node's workers: one capture worker per device for the worker
/// role, one analysis worker for the reducer role. A refusal ends the node.
/// </summary>
public sealed class NodeAgent : ReceiveActor, IWithTimers
{
    private sealed record Greet;
    private sealed record Prepared(RunStarted Run, PreparedRun Plan);
    private sealed record PreparationFailed(RunStarted Run, string Error);

    private readonly ClusterOptions _options;
    private readonly IActorRef _coordinatorProxy;
    private readonly ClusterSecret _secret;
    private readonly NodeSignals _signals;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<long, List<IActorRef>> _workers = new();
    private IActorRef? _coordinator;

    public ITimerScheduler Timers { get; set; } = null!;

    public NodeAgent(ClusterOptions options, IActorRef coordinatorProxy, NodeSignals signals)
    {
        _options = options; _coordinatorProxy = coordinatorProxy; _signals = signals;
        _secret = new ClusterSecret(options.Secret);
        Greeting();
    }

    protected override void PreStart()
    {
        var self = Self;
        Cluster.Get(Context.System).RegisterOnMemberUp(() => self.Tell(new Greet()));
    }

    private void Greeting()
    {
        Receive<Greet>(_ =>
        {
            _coordinatorProxy.Tell(new Hello(_options.NodeName));
            // The singleton may not be up yet (or may be moving): ask again until welcomed.
            Timers.StartSingleTimer("greet", new Greet(), TimeSpan.FromSeconds(2));
        });
        Receive<Challenge>(c => Sender.Tell(new JoinAsNode(_options.NodeName, _options.Roles.ToList(), c.Nonce,
            _secret.Prove(c.Nonce, JoinAsNode.Subject(_options.NodeName)))));
        Receive<Welcome>(_ =>
        {
            Timers.Cancel("greet");
            _coordinator = Sender;
            Context.Watch(Sender);
            _signals.Welcomed.TrySetResult();
            Become(Joined);
        });
        CommonReceives();
    }

    private void Joined()
    {
        Receive<RunStarted>(run =>
        {
            if (!_options.Roles.Contains(NodeRoles.Worker) && !_options.Roles.Contains(NodeRoles.Reducer)) return;
            var self = Self;
            Task.Run(() => Prepare(run)).PipeTo(self);
        });
        Receive<Prepared>(StartWorkers);
        Receive<PreparationFailed>(f =>
        {
            // A node that cannot read the job would silently idle; its workers fail the units they are given
            // instead, so the run ends with a message naming this node rather than waiting forever.
            _log.Error("run {0}: this node cannot run the job: {1}", f.Run.RunId, f.Error);
            StartWorkers(f.Run, _ => new FailingExecutor(), null, $"node {_options.NodeName} cannot prepare the job: {f.Error}");
        });
        Receive<RunEnded>(ended =>
        {
            if (_workers.Remove(ended.RunId, out var workers)) foreach (var w in workers) Context.Stop(w);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_coordinator), _ =>
        {
            // The coordinator's node left; its successor (another coordinator node) will be greeted anew.
            _coordinator = null;
            Become(Greeting);
            Self.Tell(new Greet());
        });
        CommonReceives();
    }

    private void CommonReceives()
    {
        Receive<Refused>(r =>
        {
            _log.Error("the cluster refused this node: {0}", r.Reason);
            _signals.Refused.TrySetResult(r.Reason);
        });
        Receive<Terminated>(_ => { });
    }

    private object Prepare(RunStarted run)
    {
        try
        {
            var spec = JobLoader.Parse(run.SpecYaml, run.JobFile, run.BaseDirectory);
            if (spec.Digest != run.Digest) return new PreparationFailed(run, "the job resolves to a different digest on this node");
            return new Prepared(run, PreparedRun.Prepare(spec, run.RunId));
        }
        catch (JobValidationException e) { return new PreparationFailed(run, string.Join("; ", e.Errors)); }
        catch (Exception e) { return new PreparationFailed(run, e.Message); }
    }

    private void StartWorkers(Prepared prepared) =>
        StartWorkers(prepared.Run, device => prepared.Plan.CreateExecutor(device), prepared.Plan, null);

    // Without a plan (the job could not be prepared here) the workers answer every unit with the reason.
    private void StartWorkers(RunStarted run, Func<string, IUnitExecutor> executorFor, PreparedRun? plan, string? unavailable)
    {
        var heartbeat = plan is null ? TimeSpan.FromSeconds(1) : LeaseSettings.From(plan.Context.Spec.Execution).Heartbeat;
        var settings = new WorkerSettings(_options.NodeName, heartbeat, unavailable);
        var units = plan?.UnitsByKey ?? new Dictionary<string, WorkUnit>();
        var workers = new List<IActorRef>();
        if (_options.Roles.Contains(NodeRoles.Worker))
            for (int i = 0; i < _options.Devices.Count; i++)
            {
                var device = _options.Devices[i];
                workers.Add(Context.ActorOf(UnitWorker.Props(WorkStage.Capture, run.Coordinator, DelayedExecutor.Wrap(executorFor(device)), units, settings),
                    $"{device.Replace(':', '-')}-{i}-run{run.RunId}"));
                // SAE training is model-side work too: one trainer per device, beside its capture worker.
                workers.Add(Context.ActorOf(UnitWorker.Props(WorkStage.TrainSae, run.Coordinator, DelayedExecutor.Wrap(executorFor(device)), units, settings),
                    $"{device.Replace(':', '-')}-{i}-sae-trainer-run{run.RunId}"));
            }
        if (_options.Roles.Contains(NodeRoles.Reducer))
            foreach (var (stage, name) in new[] { (WorkStage.Analysis, "reducer"), (WorkStage.SaeStats, "sae-stats") })
                workers.Add(Context.ActorOf(UnitWorker.Props(stage, run.Coordinator, DelayedExecutor.Wrap(executorFor("cpu")), units, settings),
                    $"{name}-run{run.RunId}"));
        _workers[run.RunId] = workers;
    }

    private sealed class FailingExecutor : IUnitExecutor
    {
        public Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken) =>
            throw new PermanentUnitFailure("this node could not prepare the job");
        public void Dispose() { }
    }

    public static Props Props(ClusterOptions options, IActorRef coordinatorProxy, NodeSignals signals) =>
        Akka.Actor.Props.Create(() => new NodeAgent(options, coordinatorProxy, signals));
}
