using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Sweep.Actors.Hosting;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Bench;

/// <summary>
/// One big pair spread over reducers: linear CKA between two 1,536-wide sites over ~150k tokens, run as one unit on
/// one reducer process, then split into map units per shard range and merged over one and over two reducer processes
/// (real `sweep node` processes beside a coordinator node). Each reducer process gets half the machine's cores
/// (OMP_NUM_THREADS), as a reducer machine would have its own: the 2-reducer ratio is what a second machine buys.
/// The activations are synthetic shards written into the store beforehand (the capture units find them cached):
/// what is measured is the reduction, scheduling and partial files included.
/// </summary>
public sealed class ReducerBenchmark : IBenchmark
{
    public string Name => "reducers";
    public string Description => "one big pair: one unit vs split over 1 and 2 reducer processes";

    private const int Width = 1536;
    private const int Sequences = 1152, SequenceLength = 128, SequencesPerShard = 72;

    public void Run(BenchmarkOutput output) => RunAsync(output).GetAwaiter().GetResult();

    private static async Task RunAsync(BenchmarkOutput output)
    {
        var work = Directory.CreateTempSubdirectory("sweep-bench-reducers-").FullName;
        var server = await EmbeddedPostgres.StartAsync(Path.Combine(work, "pg"));
        try
        {
            WriteWorkspace(work);
            var whole = WriteJob(work, "whole", shardsPerUnit: null);
            var split = WriteJob(work, "split", shardsPerUnit: 2);
            WriteShards(JobLoader.Load(split));
            int threads = Math.Max(1, Environment.ProcessorCount / 2);
            var spec = JobLoader.Load(split);
            var prepared = PreparedRun.Prepare(spec, 0);
            int maps = prepared.Units.OfType<AnalysisMapWork>().Count(), merges = prepared.Units.OfType<AnalysisMergeWork>().Count();
            output.Line("pair", $"cka, {Width} x {Width}, {prepared.Context.Corpus.TokenCount:N0} tokens, {prepared.Context.Corpus.Shards.Count} shards");
            output.Line("split plan", $"{maps} map + {merges} merge + 1 finalize units");
            output.Line("threads per reducer process", $"{threads} of {Environment.ProcessorCount} cores");

            double one = await TimeAsync(work, server, whole, reducers: 1, threads);
            double oneSplit = await TimeAsync(work, server, split, reducers: 1, threads);
            double twoSplit = await TimeAsync(work, server, split, reducers: 2, threads);
            output.Line("one unit, 1 reducer", $"{one:F1} s");
            output.Line("split, 1 reducer", $"{oneSplit:F1} s ({oneSplit / one:F2}x the one unit)");
            output.Line("split, 2 reducers", $"{twoSplit:F1} s");
            output.Line("1 reducer / 2 reducers (split)", $"{oneSplit / twoSplit:F2}x");
        }
        finally
        {
            await server.StopAsync();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Seconds from submitting the job to its end, on a coordinator(+worker) node and <paramref name="reducers"/> reducer processes.</summary>
    private static async Task<double> TimeAsync(string work, EmbeddedPostgres server, string job, int reducers, int threads)
    {
        var database = await CreateDatabaseAsync(server);
        int seed = FreePort();
        var nodes = new List<NodeProcess> { NodeProcess.Start(work, new Dictionary<string, string>(), "node", "--roles", "coordinator,worker", "--port", $"{seed}", "--db", database) };
        var limit = new Dictionary<string, string> { ["OMP_NUM_THREADS"] = $"{threads}", ["MKL_NUM_THREADS"] = $"{threads}" };
        for (int i = 0; i < reducers; i++)
            nodes.Add(NodeProcess.Start(work, limit, "node", "--roles", "reducer", "--seed", $"127.0.0.1:{seed}", "--port", $"{FreePort()}"));
        try
        {
            foreach (var node in nodes) await node.WaitForLineAsync("admitted by the coordinator");
            var clock = Stopwatch.StartNew();
            var outcome = await ClusterSubmission.SubmitAsync($"127.0.0.1:{seed}", new ClusterOptions { Port = 0 }, JobLoader.Load(job), null, _ => { }, CancellationToken.None);
            if (!outcome.Finished.Succeeded) throw new InvalidOperationException(outcome.Finished.Error);
            return clock.Elapsed.TotalSeconds;
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    private static async Task<string> CreateDatabaseAsync(EmbeddedPostgres server)
    {
        var name = "bench_" + Guid.NewGuid().ToString("N")[..12];
        await using var connection = new Npgsql.NpgsqlConnection(server.ConnectionString);
        await connection.OpenAsync();
        await using (var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {name}", connection)) await create.ExecuteNonQueryAsync();
        return new Npgsql.NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Two one-layer models of width 1,024 (configs only: their activations come from <see cref="WriteShards"/>) and a pre-tokenized corpus.</summary>
    private static void WriteWorkspace(string work)
    {
        foreach (var (model, marker) in new[] { ("big-a", (byte)1), ("big-b", (byte)2) })
        {
            var dir = Path.Combine(work, "models", model);
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "config.json"), $$"""
                {"model_type": "llama", "hidden_size": {{Width}}, "intermediate_size": 2048, "num_hidden_layers": 1,
                 "num_attention_heads": 8, "num_key_value_heads": 8, "vocab_size": 256, "max_position_embeddings": {{SequenceLength}}}
                """);
            File.WriteAllBytes(Path.Combine(dir, "model.safetensors"), [marker]);
        }
        var rng = new Random(1);
        File.WriteAllLines(Path.Combine(work, "corpus.jsonl"), Enumerable.Range(0, Sequences).Select(_ =>
            "{\"ids\": [" + string.Join(", ", Enumerable.Range(0, SequenceLength).Select(_ => rng.Next(256))) + "]}"));
    }

    private static string WriteJob(string work, string name, int? shardsPerUnit)
    {
        var path = Path.Combine(work, name + ".yaml");
        File.WriteAllText(path, $"""
            version: 1
            name: {name}
            corpus:
              path: corpus.jsonl
              max_tokens: {SequenceLength}
              sequences_per_shard: {SequencesPerShard}
            models:
              - name: big-a
                path: models/big-a
              - name: big-b
                path: models/big-b
            captures:
              - model: big-a
                sites: [blocks.0.hook_resid_post]
              - model: big-b
                sites: [blocks.0.hook_resid_post]
            analyses:
              - name: cka
                kind: cka{(shardsPerUnit is { } n ? $"\n    shards_per_unit: {n}" : "")}
            execution:
              device: cpu
              lease_seconds: 600
            output:
              store: store
              shard_dtype: bfloat16
            """);
        return path;
    }

    /// <summary>Random activations (B partly a linear image of A) at the paths and cache keys the job's capture units expect.</summary>
    private static void WriteShards(JobSpec spec)
    {
        var run = PreparedRun.Prepare(spec, 0).Context;
        var rng = new Random(7);
        foreach (var shard in run.Corpus.Shards)
        {
            int rows = (int)shard.TokenCount;
            int[] seq = new int[rows], pos = new int[rows], token = new int[rows];
            for (int s = 0, r = 0; s < shard.Sequences.Count; s++)
                for (int p = 0; p < shard.Sequences[s].Length; p++, r++) (seq[r], pos[r], token[r]) = (run.FirstSequenceOf(shard.Index) + s, p, shard.Sequences[s][p]);
            var a = new float[rows * Width];
            for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() - 0.5);
            var b = new float[rows * Width];
            for (int i = 0; i < b.Length; i++) b[i] = 0.5f * a[(i + 7) % a.Length] + (float)(rng.NextDouble() - 0.5);
            foreach (var (model, values) in new[] { ("big-a", a), ("big-b", b) })
            {
                var metadata = run.ShardMetadataFor(model, "blocks.0.hook_resid_post", shard.Index);
                ShardDtype.Round(values, metadata.Dtype);
                DenseShardFile.Write(run.ShardPath(metadata), new DenseShard(metadata, rows, seq, pos, token, values));
            }
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A `sweep` process (the CLI built beside the benchmark): waits on an output line, killed on dispose.</summary>
    private sealed class NodeProcess : IDisposable
    {
        private readonly Process _process;
        private readonly List<string> _lines = new();

        private NodeProcess(Process process) => _process = process;

        public static NodeProcess Start(string work, IReadOnlyDictionary<string, string> environment, params string[] args)
        {
            var start = new ProcessStartInfo("dotnet") { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sweep.dll"));
            foreach (var arg in args) start.ArgumentList.Add(arg);
            start.Environment["SWEEP_HOME"] = Path.Combine(work, ".sweep");
            foreach (var variable in new[] { "SWEEP_DB", "SWEEP_CLUSTER_SECRET", "SWEEP_FAULT_UNIT_DELAY_MS" }) start.Environment.Remove(variable);
            foreach (var (key, value) in environment) start.Environment[key] = value;
            var node = new NodeProcess(new Process { StartInfo = start });
            node._process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (node._lines) node._lines.Add(l); };
            node._process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (node._lines) node._lines.Add(l); };
            node._process.Start();
            node._process.BeginOutputReadLine();
            node._process.BeginErrorReadLine();
            return node;
        }

        public async Task WaitForLineAsync(string fragment)
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (true)
            {
                lock (_lines) if (_lines.Any(l => l.Contains(fragment, StringComparison.Ordinal))) return;
                if (_process.HasExited || DateTime.UtcNow > deadline)
                    throw new InvalidOperationException($"node did not print '{fragment}':\n{string.Join("\n", _lines)}");
                await Task.Delay(50);
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(20_000);
            _process.Dispose();
        }
    }
}
