using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Actors.Workers;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Ledger;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Models.Demo;
using Sweep.Storage.Database;

namespace Sweep.Bench;

/// <summary>
/// The price of the cluster path: the same small job run by LocalRunner and by a loopback cluster
/// (a coordinator node and a worker node, each its own actor system with remoting, in this process),
/// and the coordinator's scheduling cost per unit with no-op units (in-memory ledger and PostgreSQL ledger).
/// </summary>
public sealed class ClusterBenchmark : IBenchmark
{
    public string Name => "cluster";
    public string Description => "cluster path vs single process on one job; coordinator cost per unit";

    private const int Trials = 3;
    private const int NoOpUnits = 3000;

    public void Run(BenchmarkOutput output) => RunAsync(output).GetAwaiter().GetResult();

    private static async Task RunAsync(BenchmarkOutput output)
    {
        var work = Directory.CreateTempSubdirectory("sweep-bench-cluster-").FullName;
        var server = await EmbeddedPostgres.StartAsync(Path.Combine(work, "pg"));
        try
        {
            await using var database = await SweepDatabase.OpenAsync(server.ConnectionString);
            var corpus = File.ReadLines(FindRepoFile("demo/corpus.txt")).Take(64).ToList();
            File.WriteAllLines(Path.Combine(work, "corpus.txt"), corpus);
            TinyRandomModels.Write(Path.Combine(work, "models"), string.Join("\n", corpus));

            // Alternate the paths so warm-up and caches favour neither; each run gets a fresh store and a GEMM after it.
            using var yardstick = new Yardstick();
            var local = new Samples();
            var cluster = new Samples();
            int units = 0;
            for (int trial = 0; trial < Trials; trial++)
            {
                int t = trial;
                local.Add(yardstick.Time(() => units = TimeLocalAsync(work, database, $"local-{t}").GetAwaiter().GetResult()));
                cluster.Add(yardstick.Time(() => TimeClusterAsync(work, database, $"cluster-{t}").GetAwaiter().GetResult()));
            }
            double localMedian = local.Seconds.Median;
            output.Line($"job ({units} units), single process", $"{local.GemmEquivalents.Format(unit: " GEMMs")} ({localMedian:F2} s)", local);
            output.Line("same job, loopback cluster (coordinator + worker node)", $"{cluster.GemmEquivalents.Format(unit: " GEMMs")} ({cluster.Seconds.Median:F2} s)", cluster);
            output.Line("cluster / single process", CorrelationBenchmark.Ratio(cluster, local));

            var memory = await SchedulingCostAsync(work, _ => new NullLedger());
            long runId = await database.CreateRunAsync("bench-noop", "", "noop", work);
            var durable = await SchedulingCostAsync(work, keys =>
            {
                database.UpsertUnitsAsync(runId, keys.Select(k => new UnitRecord(k, "capture"))).GetAwaiter().GetResult();
                return new DatabaseRunLedger(database, runId);
            });
            double perUnitJob = localMedian / units;
            output.Line($"coordinator, {NoOpUnits} no-op units, in-memory ledger", $"{memory * 1e6:F0} us/unit");
            output.Line($"coordinator, {NoOpUnits} no-op units, PostgreSQL ledger", $"{durable * 1e6:F0} us/unit");
            output.Line("PostgreSQL-ledger cost / mean unit of the job above", $"{durable / perUnitJob:P1}");
        }
        finally
        {
            await server.StopAsync();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Runs the job in this process; returns its number of units.</summary>
    private static async Task<int> TimeLocalAsync(string work, SweepDatabase database, string name)
    {
        var spec = JobLoader.Load(WriteJob(work, name));
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);
        return report.CaptureUnits + report.AnalysisUnits;
    }

    private static async Task TimeClusterAsync(string work, SweepDatabase database, string name)
    {
        var spec = JobLoader.Load(WriteJob(work, name));
        int seed = FreePort();
        var coordinator = ClusterNode.Start(new ClusterOptions
        {
            Port = seed, Seeds = [$"127.0.0.1:{seed}"], Roles = new HashSet<string> { NodeRoles.Coordinator, NodeRoles.Reducer },
        }, database);
        var worker = ClusterNode.Start(new ClusterOptions
        {
            Port = FreePort(), Seeds = [$"127.0.0.1:{seed}"], Roles = new HashSet<string> { NodeRoles.Worker },
        }, null);
        try
        {
            await Task.WhenAll(coordinator.Welcomed, worker.Welcomed).WaitAsync(TimeSpan.FromMinutes(1));
            var outcome = await ClusterSubmission.SubmitAsync($"127.0.0.1:{seed}", new ClusterOptions { Port = 0 }, spec, null, _ => { }, CancellationToken.None);
            if (!outcome.Finished.Succeeded) throw new InvalidOperationException(outcome.Finished.Error);
        }
        finally
        {
            await worker.DisposeAsync();
            await coordinator.DisposeAsync();
        }
    }

    /// <summary>Seconds per unit for no-op units pulled by two local workers through a RunCoordinator.</summary>
    private static async Task<double> SchedulingCostAsync(string work, Func<IReadOnlyList<string>, IRunLedger> ledgerFor)
    {
        var units = Enumerable.Range(0, NoOpUnits).Select(i => (WorkUnit)new NoOpUnit($"noop-{i:D5}")).ToList();
        var ledger = ledgerFor(units.Select(u => u.Key).ToList());
        var system = LocalActorSystem.Create("bench");
        try
        {
            var lease = new LeaseSettings(3, TimeSpan.FromMinutes(1));
            var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            var byKey = units.ToDictionary(u => u.Key);
            var clock = Stopwatch.StartNew();
            var coordinator = system.ActorOf(RunCoordinator.Props(units, new HashSet<string>(), new Dictionary<string, int>(), ledger, NoProgress.Instance, outcome, lease));
            for (int i = 0; i < 2; i++)
                system.ActorOf(UnitWorker.Props(WorkStage.Capture, coordinator, new NoOpExecutor(Path.Combine(work, "results")), byKey, WorkerSettings.Local(lease)));
            var result = await outcome.Task.WaitAsync(TimeSpan.FromMinutes(5));
            if (!result.Succeeded) throw new InvalidOperationException(result.Error);
            return clock.Elapsed.TotalSeconds / NoOpUnits;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private static string WriteJob(string work, string name)
    {
        var path = Path.Combine(work, name + ".yaml");
        File.WriteAllText(path, $"""
            version: 1
            name: {name}
            corpus:
              path: corpus.txt
              max_tokens: 64
              sequences_per_shard: 8
            models:
              - name: tiny-a
                path: models/tiny-a
              - name: tiny-b
                path: models/tiny-b
            captures:
              - model: tiny-a
                sites: [blocks.1.hook_resid_post, blocks.3.hook_resid_post]
              - model: tiny-b
                sites: [blocks.2.hook_resid_post]
            analyses:
              - name: cka
                kind: cka
            execution:
              device: cpu
              batch_size: 8
            output:
              store: store-{name}
            """);
        return path;
    }

    private static string FindRepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, relative))) return Path.Combine(dir.FullName, relative);
        throw new FileNotFoundException($"{relative} not found above {AppContext.BaseDirectory}");
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private sealed record NoOpUnit(string Key) : WorkUnit(Key, [])
    {
        public override WorkStage Stage => WorkStage.Capture;
        public override string Description => Key;
    }

    private sealed class NullLedger : IRunLedger
    {
        public Task MarkStartedAsync(string unit, int lease, string worker, string node) => Task.CompletedTask;
        public Task<CommitOutcome> CommitAsync(string unit, int lease, UnitReport report) => Task.FromResult(CommitOutcome.Committed);
        public Task MarkRetriedAsync(string unit, int lease, string error) => Task.CompletedTask;
        public Task MarkFailedAsync(string unit, int lease, string error) => Task.CompletedTask;
    }

    /// <summary>Does nothing but what every unit does: write its (empty) result file for the ledger to commit.</summary>
    private sealed class NoOpExecutor(string folder) : IUnitExecutor
    {
        public Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken) =>
            Task.FromResult(ResultFile.Write(Path.Combine(folder, $"{unit.Key}.{lease}.rows"), new UnitOutput(), reused: false));
        public void Dispose() { }
    }
}
