using System.Net;
using Akka.Cluster.Tools.Singleton;
using Akka.Configuration;

namespace Sweep.Actors.Hosting;

/// <summary>Roles a cluster node can hold; a node may hold several.</summary>
public static class NodeRoles
{
    public const string Coordinator = "coordinator";
    public const string Worker = "worker";
    public const string Reducer = "reducer";
    public static readonly string[] All = [Coordinator, Worker, Reducer];
}

/// <summary>
/// How a process joins (or talks to) a Sweep cluster: where remoting listens, the seeds, its roles,
/// the shared secret and TLS. Remoting binds to 127.0.0.1 unless <see cref="Host"/> says otherwise;
/// binding anywhere else requires a shared secret.
/// </summary>
public sealed record ClusterOptions
{
    public const string SystemName = "sweep";
    public const string SecretVariable = "SWEEP_CLUSTER_SECRET";
    public const string TlsPasswordVariable = "SWEEP_TLS_CERT_PASSWORD";
    public const int DefaultPort = 4053;

    public string Host { get; init; } = "127.0.0.1";
    /// <summary>The address other nodes use to reach this one, when it differs from <see cref="Host"/> (containers, NAT).</summary>
    public string? PublicHost { get; init; }
    public int Port { get; init; } = DefaultPort;
    public IReadOnlyList<string> Seeds { get; init; } = [];
    public IReadOnlySet<string> Roles { get; init; } = new HashSet<string>();
    public string Secret { get; init; } = "";
    /// <summary>A PKCS#12 certificate: when set, remoting speaks TLS (DotNetty SSL) and validates its peers.</summary>
    public string? TlsCertificate { get; init; }
    public string? TlsCertificatePassword { get; init; }
    /// <summary>Capture workers of this node, one per device (worker role).</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    /// <summary>The address nodes see: host:port.</summary>
    public string NodeName => $"{PublicHost ?? Host}:{Port}";

    public static string SecretFromEnvironment() => Environment.GetEnvironmentVariable(SecretVariable) ?? "";

    /// <summary>Refuses settings that would expose an unauthenticated cluster; returns the reason or null.</summary>
    public string? Problem()
    {
        foreach (var role in Roles)
            if (!NodeRoles.All.Contains(role)) return $"--roles: unknown role '{role}', expected {string.Join(", ", NodeRoles.All)}";
        foreach (var seed in Seeds)
            if (!TryParseEndpoint(seed, out _, out _)) return $"--seed: '{seed}' is not HOST:PORT";
        if (!IsLoopback(Host) && Secret.Length == 0)
            return $"remoting on {Host} is reachable from other machines: set {SecretVariable} to the cluster's shared secret (the same on every node)";
        if (TlsCertificate is not null && !File.Exists(TlsCertificate)) return $"--tls-cert: {TlsCertificate}: file not found";
        return null;
    }

    public static bool IsLoopback(string host) =>
        host is "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    public static bool TryParseEndpoint(string text, out string host, out int port)
    {
        host = ""; port = 0;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text[(colon + 1)..], out port) || port is <= 0 or > 65535) return false;
        host = text[..colon];
        return true;
    }

    public static string SeedAddress(string endpoint)
    {
        TryParseEndpoint(endpoint, out var host, out var port);
        return $"akka.tcp://{SystemName}@{host}:{port}";
    }

    /// <summary>HOCON for a cluster member (<paramref name="clusterMember"/>) or for a plain remoting client (a submitter).</summary>
    public Config ToConfig(bool clusterMember = true)
    {
        string Quote(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";
        var tls = TlsCertificate is null ? "enable-ssl = false" : $$"""
            enable-ssl = true
            ssl {
              suppress-validation = false
              require-mutual-authentication = true
              validate-certificate-hostname = false
              certificate {
                path = {{Quote(TlsCertificate)}}
                password = {{Quote(TlsCertificatePassword ?? "")}}
              }
            }
            """;
        var cluster = !clusterMember ? "" : $$"""
            cluster {
              seed-nodes = [{{string.Join(", ", Seeds.Select(s => Quote(SeedAddress(s))))}}]
              roles = [{{string.Join(", ", Roles.Select(Quote))}}]
              downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
              split-brain-resolver {
                active-strategy = keep-majority
                stable-after = 5s
              }
              failure-detector {
                heartbeat-interval = 1s
                acceptable-heartbeat-pause = 4s
              }
              log-info = off
              # the node agent greets the coordinator until it answers; the proxy's own warning says nothing more
              singleton-proxy.log-singleton-identification-failure = off
              run-coordinated-shutdown-when-down = on
            }
            """;
        return ConfigurationFactory.ParseString($$"""
            akka {
              {{AkkaLogging.Hocon}}
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              actor.provider = {{(clusterMember ? "cluster" : "remote")}}
              remote {
                log-remote-lifecycle-events = off
                # a submitter learns within seconds that the coordinator's process is gone
                watch-failure-detector.acceptable-heartbeat-pause = 4s
                dot-netty.tcp {
                  hostname = {{Quote(Host)}}
                  {{(PublicHost is null ? "" : "public-hostname = " + Quote(PublicHost))}}
                  port = {{Port}}
                  {{tls}}
                }
              }
              {{cluster}}
            }
            """).WithFallback(Akka.Cluster.Tools.Singleton.ClusterSingleton.DefaultConfig());
    }
}
