using System.CommandLine;
using Sweep.Actors.Hosting;

namespace Sweep.Cli.Commands;

/// <summary>Options shared by the commands that talk to a cluster: where to listen, TLS. The secret comes only from SWEEP_CLUSTER_SECRET.</summary>
internal static class ClusterOptionsParsing
{
    public static Option<string> Host() => new("--host")
    {
        Description = "address remoting listens on (default 127.0.0.1: this machine only; any other address needs SWEEP_CLUSTER_SECRET)",
        DefaultValueFactory = _ => "127.0.0.1",
    };

    public static Option<string?> PublicHost() => new("--public-host")
    {
        Description = "address other nodes use to reach this one, when it differs from --host (containers, NAT)",
    };

    public static Option<FileInfo?> TlsCertificate() => new("--tls-cert")
    {
        Description = "PKCS#12 certificate: remoting speaks TLS and requires it of peers (password from SWEEP_TLS_CERT_PASSWORD)",
    };

    public static ClusterOptions Client(ParseResult parse, Option<string> host, Option<FileInfo?> tls) => new()
    {
        Host = parse.GetValue(host)!,
        Port = 0,
        Secret = ClusterOptions.SecretFromEnvironment(),
        TlsCertificate = parse.GetValue(tls)?.FullName,
        TlsCertificatePassword = Environment.GetEnvironmentVariable(ClusterOptions.TlsPasswordVariable),
    };
}
