using System.Diagnostics;
using Sweep.Tests.Common;
using YamlDotNet.RepresentationModel;

namespace Sweep.Cluster.Tests;

/// <summary>
/// The deploy/ files parse and are wired together: one image for every role, GPU workers, seeds that
/// resolve to the coordinator, the shared secret and database password from secrets, never literals.
/// </summary>
public sealed class DeployFilesTests
{
    private static string Deploy(string relative) => Path.Combine(Fixtures.RepoRoot, "deploy", relative);

    private static List<YamlMappingNode> Documents(string relative)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Deploy(relative));
        stream.Load(reader);
        return stream.Documents.Select(d => Assert.IsType<YamlMappingNode>(Merged(d.RootNode))).ToList();
    }

    // Compose files use YAML merge keys ("<<: *anchor"): the anchor's keys, then the mapping's own keys over them.
    private static YamlNode Merged(YamlNode node)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                var result = new YamlMappingNode();
                var mergeKey = new YamlScalarNode("<<");
                if (mapping.Children.TryGetValue(mergeKey, out var inherited))
                    foreach (var (key, value) in ((YamlMappingNode)Merged(inherited)).Children) result.Children[key] = value;
                foreach (var (key, value) in mapping.Children.Where(kv => !kv.Key.Equals(mergeKey))) result.Children[key] = Merged(value);
                return result;
            case YamlSequenceNode sequence:
                return new YamlSequenceNode(sequence.Children.Select(Merged));
            default:
                return node;
        }
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (var key in path)
        {
            var mapping = Assert.IsType<YamlMappingNode>(node);
            Assert.True(mapping.Children.TryGetValue(new YamlScalarNode(key), out var child), $"missing key '{key}' on the way to {string.Join(".", path)}");
            node = child!;
        }
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => Assert.IsType<YamlScalarNode>(At(node, path)).Value!;

    private static List<string> Strings(YamlNode node, params string[] path) =>
        Assert.IsType<YamlSequenceNode>(At(node, path)).Children.Select(c => ((YamlScalarNode)c).Value!).ToList();

    private static string? ArgAfter(List<string> args, string flag) => args.IndexOf(flag) is >= 0 and var i && i + 1 < args.Count ? args[i + 1] : null;

    [Fact]
    public void The_compose_file_runs_postgres_a_coordinator_and_gpu_workers_seeded_by_the_coordinator_from_one_image()
    {
        var compose = Documents("compose.yaml").Single();
        var services = Assert.IsType<YamlMappingNode>(At(compose, "services"));
        var names = services.Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        Assert.Superset(new HashSet<string?> { "postgres", "coordinator", "worker" }, names);

        var coordinator = At(compose, "services", "coordinator");
        var worker = At(compose, "services", "worker");
        Assert.Equal(Scalar(coordinator, "image"), Scalar(worker, "image"));
        Assert.Equal("deploy/docker/Dockerfile", Scalar(worker, "build", "dockerfile"));
        Assert.True(File.Exists(Path.Combine(Deploy(""), Scalar(worker, "build", "context"), Scalar(worker, "build", "dockerfile"))));

        var coordinatorArgs = Strings(coordinator, "command");
        var workerArgs = Strings(worker, "command");
        Assert.Equal("node", coordinatorArgs[0]);
        Assert.Contains("coordinator", ArgAfter(coordinatorArgs, "--roles")!.Split(','));
        Assert.Equal(["worker"], ArgAfter(workerArgs, "--roles")!.Split(','));
        Assert.Equal($"{Scalar(coordinator, "hostname")}:4053", ArgAfter(workerArgs, "--seed"));

        var gpu = Assert.IsType<YamlSequenceNode>(At(worker, "deploy", "resources", "reservations", "devices")).Children.Single();
        Assert.Equal("nvidia", Scalar(gpu, "driver"));
        Assert.Contains("gpu", Strings(gpu, "capabilities"));

        foreach (var node in new[] { coordinator, worker })
        {
            Assert.StartsWith("${SWEEP_CLUSTER_SECRET:?", Scalar(node, "environment", "SWEEP_CLUSTER_SECRET"));
            var db = Scalar(node, "environment", "SWEEP_DB");
            Assert.DoesNotContain(":", new Uri(db).UserInfo); // no password in the URL: it comes from PGPASSFILE
            Assert.StartsWith("/run/secrets/", Scalar(node, "environment", "PGPASSFILE"));
        }
        Assert.Equal("service_healthy", Scalar(coordinator, "depends_on", "postgres", "condition"));
    }

    [Fact]
    public void The_kubernetes_manifests_make_the_seed_discoverable_and_give_each_worker_a_gpu()
    {
        var all = new[] { "namespace.yaml", "storage.yaml", "coordinator.yaml", "workers.yaml" }.SelectMany(f => Documents($"kubernetes/{f}")).ToList();
        YamlNode Kind(string kind) => all.Single(d => Scalar(d, "kind") == kind);
        foreach (var doc in all) Assert.Equal("sweep", Scalar(doc, "metadata", Scalar(doc, "kind") == "Namespace" ? "name" : "namespace"));

        var seed = Kind("Service");
        var coordinator = Kind("StatefulSet");
        var workers = Kind("Deployment");
        Assert.Equal("None", Scalar(seed, "spec", "clusterIP"));
        Assert.Equal(Scalar(seed, "metadata", "name"), Scalar(coordinator, "spec", "serviceName"));
        var selector = Assert.IsType<YamlMappingNode>(At(seed, "spec", "selector"));
        var podLabels = Assert.IsType<YamlMappingNode>(At(coordinator, "spec", "template", "metadata", "labels"));
        foreach (var (key, value) in selector.Children) Assert.Equal(((YamlScalarNode)value).Value, Scalar(podLabels, ((YamlScalarNode)key).Value!));

        var coordinatorContainer = Assert.IsType<YamlSequenceNode>(At(coordinator, "spec", "template", "spec", "containers")).Children.Single();
        var workerContainer = Assert.IsType<YamlSequenceNode>(At(workers, "spec", "template", "spec", "containers")).Children.Single();
        Assert.Equal(Scalar(coordinatorContainer, "image"), Scalar(workerContainer, "image"));
        Assert.Contains("coordinator", ArgAfter(Strings(coordinatorContainer, "args"), "--roles")!.Split(','));
        var workerArgs = Strings(workerContainer, "args");
        Assert.Equal(["worker"], ArgAfter(workerArgs, "--roles")!.Split(','));
        // The seed is the StatefulSet's first pod under the headless service.
        string ns = Scalar(seed, "metadata", "namespace");
        Assert.Equal($"{Scalar(coordinator, "metadata", "name")}-0.{Scalar(seed, "metadata", "name")}.{ns}.svc.cluster.local:4053", ArgAfter(workerArgs, "--seed"));
        Assert.Equal("1", Scalar(workerContainer, "resources", "limits", "nvidia.com/gpu"));

        foreach (var container in new[] { coordinatorContainer, workerContainer })
        {
            var env = Assert.IsType<YamlSequenceNode>(At(container, "env")).Children;
            var secret = env.Single(e => Scalar(e, "name") == "SWEEP_CLUSTER_SECRET");
            Assert.Equal("sweep-cluster", Scalar(secret, "valueFrom", "secretKeyRef", "name"));
            Assert.Equal("/data", Scalar(Assert.IsType<YamlSequenceNode>(At(container, "volumeMounts")).Children.First(), "mountPath"));
        }
        var claim = Scalar(Kind("PersistentVolumeClaim"), "metadata", "name");
        Assert.Contains("ReadWriteMany", Strings(Kind("PersistentVolumeClaim"), "spec", "accessModes"));
        Assert.All(new[] { coordinator, workers }, w => Assert.Contains(
            Assert.IsType<YamlSequenceNode>(At(w, "spec", "template", "spec", "volumes")).Children,
            v => v is YamlMappingNode m && m.Children.ContainsKey(new YamlScalarNode("persistentVolumeClaim")) && Scalar(v, "persistentVolumeClaim", "claimName") == claim));
    }

    [Fact]
    public void The_image_builds_the_cuda_flavour_and_starts_a_node()
    {
        var dockerfile = File.ReadAllLines(Deploy("docker/Dockerfile"));
        Assert.Contains(dockerfile, l => l.StartsWith("RUN dotnet publish src/Cli/Sweep.Cli.csproj") && l.Contains("-p:SweepTorch=cuda"));
        Assert.Contains(dockerfile, l => l.StartsWith("FROM nvidia/cuda:"));
        Assert.Contains("EXPOSE 4053", dockerfile);
        Assert.Contains(dockerfile, l => l.StartsWith("ENTRYPOINT") && l.Contains("sweep-entrypoint"));
        Assert.Contains(dockerfile, l => l.StartsWith("COPY deploy/docker/entrypoint.sh"));
        Assert.Contains(dockerfile, l => l.StartsWith("USER ") && !l.Contains("root"));
        // The switch the image uses exists in the build.
        Assert.Contains("SweepTorch", File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "build", "Torch.props")));
    }

    [Theory]
    [InlineData("docker/entrypoint.sh")]
    [InlineData("bare-metal/sweep-node.sh")]
    public void The_shell_scripts_parse_and_start_a_node(string script)
    {
        using var bash = Process.Start(new ProcessStartInfo("bash", ["-n", Deploy(script)]) { RedirectStandardError = true })!;
        var errors = bash.StandardError.ReadToEnd();
        bash.WaitForExit();
        Assert.True(bash.ExitCode == 0, errors);
        Assert.Matches(@"(sweep\.dll|""\$sweep"") node", File.ReadAllText(Deploy(script)));
    }
}
