using System.CommandLine;
using Sweep.Actors.Hosting;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep node --roles worker --seed HOST:PORT</c>: runs this process as a cluster member until it is
/// stopped (Ctrl-C / SIGTERM leave the cluster gracefully). A node without --seed is the first seed.
/// </summary>
internal static class NodeCommand
{
    public static Command Create()
    {
        var roles = new Option<string>("--roles")
        {
            Description = "comma-separated roles: coordinator, worker (one capture worker per device), reducer (analyses)",
            DefaultValueFactory = _ => "worker",
        };
        var seeds = new Option<string[]>("--seed")
        {
            Description = "HOST:PORT of a seed node (repeatable); without it this node is the first seed",
            AllowMultipleArgumentsPerToken = true,
        };
        var port = new Option<int>("--port") { Description = "remoting port", DefaultValueFactory = _ => ClusterOptions.DefaultPort };
        var devices = new Option<string>("--devices")
        {
            Description = "comma-separated devices for capture workers, one worker each (cpu, cuda:0, cuda:1, ...)",
            DefaultValueFactory = _ => "cpu",
        };
        var host = ClusterOptionsParsing.Host();
        var publicHost = ClusterOptionsParsing.PublicHost();
        var tls = ClusterOptionsParsing.TlsCertificate();
        var database = CommonOptions.Database();
        var home = CommonOptions.Home();
        var command = new Command("node", "Join a Sweep cluster (or start one) and serve its roles until stopped")
        {
            roles, seeds, port, devices, host, publicHost, tls, database, home,
        };
        command.SetAction((parse, ct) => Failures.ReportAsync(async () =>
        {
            var options = new ClusterOptions
            {
                Host = parse.GetValue(host)!,
                PublicHost = parse.GetValue(publicHost),
                Port = parse.GetValue(port),
                Roles = Split(parse.GetValue(roles)!).ToHashSet(),
                Devices = Split(parse.GetValue(devices)!),
                Secret = ClusterOptions.SecretFromEnvironment(),
                TlsCertificate = parse.GetValue(tls)?.FullName,
                TlsCertificatePassword = Environment.GetEnvironmentVariable(ClusterOptions.TlsPasswordVariable),
            };
            var seedList = parse.GetValue(seeds) is { Length: > 0 } given ? given : [options.NodeName];
            options = options with { Seeds = seedList };
            if (options.Problem() is { } problem) throw new ArgumentException(problem);

            await using var session = options.Roles.Contains(NodeRoles.Coordinator)
                ? await DatabaseSession.OpenAsync(CommonOptions.ChooseDatabase(parse, database, null), parse.GetValue(home)!, ct)
                : null;
            var node = ClusterNode.Start(options, session?.Database);
            await using var leaving = node;
            Console.WriteLine($"node {options.NodeName}: roles {string.Join(",", options.Roles.Order())}, seeds {string.Join(" ", seedList)}" +
                              (session is null ? "" : $", database {session.Description}"));
            _ = node.Welcomed.ContinueWith(_ => Console.WriteLine($"node {options.NodeName}: admitted by the coordinator"),
                TaskContinuationOptions.OnlyOnRanToCompletion);

            var stopped = new TaskCompletionSource();
            await using var onCancel = ct.Register(() => stopped.TrySetResult());
            var ended = await Task.WhenAny(stopped.Task, node.Refused, node.System.WhenTerminated);
            if (ended == node.Refused) throw new InvalidOperationException("the cluster refused this node: " + node.Refused.Result);
            if (ended == node.System.WhenTerminated) throw new InvalidOperationException("this node was removed from the cluster");
            return ExitCodes.Success;
        }));
        return command;
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
