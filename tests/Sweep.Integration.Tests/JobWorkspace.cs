using Sweep.Models.Demo;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// A temporary folder with the demo models, a slice of the demo corpus and a job file, like a
/// researcher's project directory. Deleted on dispose.
/// </summary>
public sealed class JobWorkspace : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("sweep-job-").FullName;
    public string JobPath => Path.Combine(Root, "job.yaml");
    public string StoreDirectory => Path.Combine(Root, "store");

    public JobWorkspace(int documents = 40)
    {
        var corpus = File.ReadLines(Path.Combine(Fixtures.RepoRoot, "demo", "corpus.txt")).Take(documents).ToList();
        File.WriteAllLines(Path.Combine(Root, "corpus.txt"), corpus);
        TinyRandomModels.Write(Path.Combine(Root, "models"), string.Join("\n", corpus));
        WriteJob();
    }

    public const string DefaultSites = """
          - model: tiny-a
            sites: [blocks.0.hook_resid_pre, blocks.1.hook_resid_post, blocks.3.hook_resid_post]
          - model: tiny-b
            sites: [blocks.2.hook_resid_post]
        """;

    public const string DefaultAnalyses = """
          - name: layer-cka
            kind: cka
        """;

    public void WriteJob(string captures = DefaultSites, int workers = 1, string store = "store", int sequencesPerShard = 8,
        string corpus = "corpus.txt", string analyses = DefaultAnalyses, string shardDtype = "float32", string saes = "") =>
        File.WriteAllText(JobPath, $"""
            version: 1
            name: integration
            corpus:
              path: {corpus}
              max_tokens: 32
              sequences_per_shard: {sequencesPerShard}
            models:
              - name: tiny-a
                path: models/tiny-a
              - name: tiny-b
                path: models/tiny-b
            captures:
            {captures}
            analyses:
            {analyses}
            {saes}
            execution:
              device: cpu
              batch_size: 4
              workers: {workers}
            output:
              store: {store}
              shard_dtype: {shardDtype}
            """);

    /// <summary>Shard files plus anything half-written (temp files) under the store.</summary>
    public IReadOnlyList<string> StoreFiles() =>
        Directory.Exists(StoreDirectory) ? Directory.GetFiles(StoreDirectory, "*", SearchOption.AllDirectories) : [];

    public void Dispose()
    {
        // As root, an embedded server of this workspace's .sweep keeps its cluster under /var/tmp (see cluster-dir).
        var clusterPointer = Path.Combine(Root, ".sweep", "postgres", "cluster-dir");
        if (File.Exists(clusterPointer) && File.ReadAllText(clusterPointer).Trim() is { Length: > 0 } clusterHome && clusterHome.StartsWith("/var/tmp/sweep-postgres-"))
            try { Directory.Delete(clusterHome, recursive: true); } catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}
