using Akka.Actor;
using Akka.Configuration;

namespace Sweep.Actors.Hosting;

/// <summary>The single-process actor system: the same actors as a cluster, no remoting.</summary>
public static class LocalActorSystem
{
    private static string Hocon => $$"""
        akka {
          {{AkkaLogging.Hocon}}
          coordinated-shutdown.run-by-clr-shutdown-hook = off
          actor.provider = local
        }
        """;

    public static ActorSystem Create(string name = "sweep") => ActorSystem.Create(name, ConfigurationFactory.ParseString(Hocon));
}
