using Akka.Actor;
using Akka.Configuration;

namespace Sweep.Actors.Hosting;

/// <summary>The single-process actor system: the same actors as a cluster, no remoting.</summary>
public static class LocalActorSystem
{
    private const string Hocon = """
        akka {
          loglevel = WARNING
          stdout-loglevel = WARNING
          log-dead-letters = off
          log-dead-letters-during-shutdown = off
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          actor.provider = local
        }
        """;

    public static ActorSystem Create(string name = "sweep") => ActorSystem.Create(name, ConfigurationFactory.ParseString(Hocon));
}
