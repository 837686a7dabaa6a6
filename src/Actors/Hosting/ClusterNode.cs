using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.Singleton;
using Sweep.Actors.Coordination;
using Sweep.Actors.Workers;
using Sweep.Storage.Database;

namespace Sweep.Actors.Hosting;

/// <summary>
/// One member of a Sweep cluster (<c>sweep node</c>). Every node runs an agent that proves the shared
/// secret to the coordinator and hosts this node's workers, and a receptionist (<c>/user/sweep</c>) that
/// passes submissions on to the coordinator wherever it runs. Nodes with the coordinator role take part
/// in hosting the coordinator singleton (the oldest of them runs it) and need the database.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    public const string ReceptionistName = "sweep";
    private const string SingletonName = "coordinator";

    public ActorSystem System { get; }
    public ClusterOptions Options { get; }

    /// <summary>Completes when the coordinator admitted this node.</summary>
    public Task Welcomed => _signals.Welcomed.Task;

    /// <summary>Completes with the reason when the coordinator refused this node.</summary>
    public Task<string> Refused => _signals.Refused.Task;

    private readonly NodeSignals _signals = new();

    private ClusterNode(ActorSystem system, ClusterOptions options)
    {
        System = system; Options = options;
    }

    public static ClusterNode Start(ClusterOptions options, SweepDatabase? database)
    {
        if (options.Problem() is { } problem) throw new ArgumentException(problem);
        if (options.Roles.Contains(NodeRoles.Coordinator) && database is null)
            throw new ArgumentException("a coordinator node needs the database");
        var system = ActorSystem.Create(ClusterOptions.SystemName, options.ToConfig());
        var node = new ClusterNode(system, options);
        var secret = new ClusterSecret(options.Secret);
        if (options.Roles.Contains(NodeRoles.Coordinator))
            system.ActorOf(ClusterSingletonManager.Props(ClusterCoordinator.Props(database!, secret), PoisonPill.Instance,
                ClusterSingletonManagerSettings.Create(system).WithRole(NodeRoles.Coordinator)), SingletonName);
        var proxy = system.ActorOf(ClusterSingletonProxy.Props($"/user/{SingletonName}",
            ClusterSingletonProxySettings.Create(system).WithRole(NodeRoles.Coordinator)), "coordinator-proxy");
        system.ActorOf(Props.Create(() => new Receptionist(proxy)), ReceptionistName);
        system.ActorOf(NodeAgent.Props(options, proxy, node._signals), "agent");
        return node;
    }

    /// <summary>Leaves the cluster gracefully (its units, if any, go back to the queue) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        // Coordinated shutdown leaves the cluster (members learn at once, not after a failure detector timeout), then terminates.
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        await System.WhenTerminated;
    }

    /// <summary>Passes everything to the coordinator singleton (submitters outside the cluster talk to any node).</summary>
    private sealed class Receptionist : ReceiveActor
    {
        public Receptionist(IActorRef coordinator) => ReceiveAny(message => coordinator.Forward(message));
    }
}
