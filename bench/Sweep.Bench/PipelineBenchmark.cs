using System.Diagnostics;
using Npgsql;
using Sweep.Pipeline.Runs;
using Sweep.Actors.Runs;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Statistics;
using Sweep.Jobs.Spec;
using Sweep.Models;
using Sweep.Models.Hooks;
using Sweep.Models.Saes;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Bench;

/// <summary>
/// What users wait for: one whole job, run in this process by <see cref="LocalRunner"/> with its embedded PostgreSQL.
/// A GPT-2-small-shaped model (random weights) over 102,400 tokens (800 sequences of 128 random ids, 13 shards),
/// capture at 2 sites (blocks 5 and 11), each encoded at capture by a TopK SAE (d_sae 16,384, k 64, Zipf-like firing),
/// the exact sparse feature matching between the two SAE sites, and the layer CKA of the two dense sites.
/// Reported: tokens/s for the whole job and its peak RSS; per stage, its time from the ledger (unit attempts), split
/// inside capture units by the same stages measured on one shard in this run (forward, dense shard write, SAE encode,
/// sparse shard write), its share of the job, and its fraction of its limit: the neighbouring GEMMs' rate for compute
/// stages, the disk's sequential bandwidth (a dd-like write + fsync of the same size, and a read, in this run) for
/// shard writes and reads.
/// </summary>
public sealed class PipelineBenchmark : IBenchmark, IOwnProcess
{
    public string Name => "pipeline";
    public string Description => "one whole job: GPT-2-small capture at 2 sites with TopK SAEs (16k), exact SAE matching, layer CKA";

    private const int Hidden = 768, DSae = 16384, K = 64, SequenceLength = 128, SequencesPerShard = 64;
    private static readonly string[] Sites = [HookPoints.ResidPost(5), HookPoints.ResidPost(11)];
    private const string MatchingAnalysis = "sae-matching", CkaAnalysis = "layer-cka";
    private const string MatchingStage = "analysis: exact SAE matching", CkaStage = "analysis: layer CKA";

    /// <summary>SWEEP_BENCH_PIPELINE_SEQUENCES shortens the run; the default (800 x 128 tokens) is the issue's ≥ 100k tokens.</summary>
    private static int Sequences => int.TryParse(Environment.GetEnvironmentVariable("SWEEP_BENCH_PIPELINE_SEQUENCES"), out int s) && s > 0 ? s : 800;

    public void Run(BenchmarkOutput output) => RunAsync(output).GetAwaiter().GetResult();

    private async Task RunAsync(BenchmarkOutput output)
    {
        var work = Directory.CreateTempSubdirectory("sweep-bench-pipeline-").FullName;
        var server = await EmbeddedPostgres.StartAsync(Path.Combine(work, "pg"));
        try
        {
            int sequences = Sequences;
            var modelDir = Path.Combine(work, "gpt2");
            Directory.CreateDirectory(modelDir);
            CaptureBenchmark.WriteCheckpoint(modelDir);
            var corpus = WriteCorpus(Path.Combine(work, "corpus.jsonl"), sequences);
            var saeDirs = Sites.Select((site, i) =>
            {
                var dir = Path.Combine(work, $"sae-{i}");
                using var sae = SkewedSae.Create(Hidden, DSae, K, seed: 11 + i);
                SaeLensWriter.Save(sae, dir);
                return dir;
            }).ToList();
            var store = Path.Combine(work, "store");
            var spec = JobLoader.Load(WriteJob(work, store, saeDirs));
            long tokens = (long)sequences * SequenceLength;
            output.Note($"{tokens:N0} tokens ({sequences} x {SequenceLength}, {(sequences + SequencesPerShard - 1) / SequencesPerShard} shards); sites {string.Join(", ", Sites)}; SAEs TopK-{K}, d_sae {DSae}");

            using var yardstick = new Yardstick();

            await using var database = await SweepDatabase.OpenAsync(server.ConnectionString);
            Load.ResetPeak();
            long before = Load.CurrentRss();
            RunReport? report = null;
            var job = yardstick.Time(() => report = LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None).GetAwaiter().GetResult());
            long peak = Load.PeakRss();
            var stages = await StageSecondsAsync(server.ConnectionString, report!.RunId);

            output.Line("whole job (LocalRunner, embedded PostgreSQL)", $"{job.Seconds:F1} s = {tokens / job.Seconds:F0} tokens/s   ({job.GemmEquivalents:F0} GEMMs)", Single(job));
            output.Line("peak RSS during the job (its own process)", $"{peak / (double)(1L << 30):F2} GiB (at start {before / (double)(1L << 30):F2} GiB; PostgreSQL runs apart)");

            // Stages inside a capture unit, measured on one shard of the same corpus with the executors' own calls.
            var split = CaptureSplit(yardstick, modelDir, saeDirs, spec, store);
            double captureUnits = stages.GetValueOrDefault("capture");
            double splitTotal = split.Sum(s => s.Seconds);
            output.Note("");
            output.Note($"{"stage",-34} {"time",8} {"share",7}  fraction of its limit");
            foreach (var s in split)
            {
                double seconds = captureUnits * s.Seconds / splitTotal;
                output.Line($"  {s.Name,-32} {seconds,7:F1}s {seconds / job.Seconds,6:P0}", s.Limit, s.Samples);
            }
            foreach (var (stage, seconds) in stages.Where(p => p.Key != "capture").OrderByDescending(p => p.Value))
                output.Line($"  {stage,-32} {seconds,7:F1}s {seconds / job.Seconds,6:P0}", AnalysisLimit(stage, store, yardstick));
            double accounted = stages.Values.Sum();
            output.Line($"  {"outside units (plan, DB, start)",-32} {job.Seconds - accounted,7:F1}s {(job.Seconds - accounted) / job.Seconds,6:P0}", "");
            var cka = report.Metrics.FirstOrDefault(m => m.Metric.Measure == "cka_linear");
            output.Note($"(capture units {captureUnits:F1} s split by the one-shard measurement; layer CKA {cka?.Metric.Value:F4}; {report.Metrics.Count} metrics stored)");
        }
        finally
        {
            await server.StopAsync();
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    private static Samples Single(Sample sample)
    {
        var samples = new Samples();
        samples.Add(sample);
        return samples;
    }

    private sealed record Stage(string Name, double Seconds, string Limit, Samples Samples);

    /// <summary>One shard through the capture unit's stages, each between GEMMs: seconds per shard and the fraction of its limit.</summary>
    private static List<Stage> CaptureSplit(Yardstick yardstick, string modelDir, List<string> saeDirs, JobSpec spec, string store)
    {
        var sequences = ReadCorpus(spec.Corpus.Path).Take(SequencesPerShard).ToList();
        int rows = sequences.Sum(s => s.Length);
        using var model = CausalLm.Load(modelDir, "cpu");
        var encoders = saeDirs.Select(d => (SparseAutoencoder)SaeLoader.Load(d)).ToList();
        var dir = Directory.CreateTempSubdirectory("sweep-bench-shards-").FullName;
        try
        {
            model.Capture(sequences.Take(2).ToList(), Sites, 2);   // warm-up
            IReadOnlyDictionary<string, SiteActivations> acts = null!;
            var forward = yardstick.Time(() =>
            {
                acts = model.Capture(sequences, Sites, spec.Execution.BatchSize);
                return rows * CaptureBenchmark.FlopsPerToken();
            });
            var (seq, pos, token) = (Enumerable.Range(0, rows).Select(r => r / SequenceLength).ToArray(),
                Enumerable.Range(0, rows).Select(r => r % SequenceLength).ToArray(), sequences.SelectMany(s => s).ToArray());
            long denseBytes = 0, sparseBytes = 0;
            var write = yardstick.Time(() =>
            {
                foreach (var (site, i) in Sites.Select((s, i) => (s, i)))
                {
                    var path = Path.Combine(dir, $"dense-{i}.arrow");
                    DenseShardFile.Write(path, new DenseShard(Metadata(site, Hidden, ShardMetadata.KindDense), rows, seq, pos, token, acts[site].Values));
                    denseBytes += new FileInfo(path).Length;
                }
            });
            // As the capture executor encodes: the squared error of x̂ kept, x̂ itself not (SaeRun.EncodeShard); warmed up on
            // the whole shard, as the job's encoders are by the shards before.
            var lengths = sequences.Select(s => s.Length).ToList();
            for (int i = 0; i < Sites.Length; i++) encoders[i].Encode(acts[Sites[i]].Values, lengths, ReconstructionOutput.SquaredErrorOnly);
            var codes = new List<SparseCodes>();
            var encode = yardstick.Time(() =>
            {
                codes.Clear();
                for (int i = 0; i < Sites.Length; i++)
                    codes.Add(encoders[i].Encode(acts[Sites[i]].Values, lengths, ReconstructionOutput.SquaredErrorOnly).Codes[SparseAutoencoder.CodesOutput]);
                return Sites.Length * 2.0 * rows * Hidden * DSae;
            });
            var sparseWrite = yardstick.Time(() =>
            {
                for (int i = 0; i < Sites.Length; i++)
                {
                    var path = Path.Combine(dir, $"sparse-{i}.arrow");
                    var c = codes[i];
                    SparseShardFile.Write(path, new SparseShard(Metadata($"{Sites[i]}/sae/s{i}", DSae, ShardMetadata.KindSparse), rows, seq, pos, token, c.Offsets, c.Indices, c.Values));
                    sparseBytes += new FileInfo(path).Length;
                }
            });
            // The disk's own rate for the same files: as many, as large, each written sequentially and fsynced, in the store's file system.
            var denseDisk = DiskBandwidth(store, Sites.Length, denseBytes / Sites.Length);
            var sparseDisk = DiskBandwidth(store, Sites.Length, sparseBytes / Sites.Length);
            return
            [
                new("forward (GPT-2 small, 12 layers)", forward.Seconds, $"{forward.FractionOfGemm:F2} of GEMM", Single(forward)),
                new("dense shard write (2 sites)", write.Seconds, DiskFraction(denseBytes, write.Seconds, denseDisk), Single(write)),
                new("SAE encode (2 x TopK 16k)", encode.Seconds, $"{encode.FractionOfGemm:F2} of GEMM", Single(encode)),
                new("sparse shard write (2 sites)", sparseWrite.Seconds, DiskFraction(sparseBytes, sparseWrite.Seconds, sparseDisk), Single(sparseWrite)),
            ];
        }
        finally
        {
            foreach (var e in encoders) e.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string DiskFraction(long bytes, double seconds, (double Write, double Read) disk) =>
        $"{bytes / seconds / disk.Write:F2} of dd write+fsync ({bytes / 1e6:F0} MB at {bytes / seconds / 1e6:F0} MB/s; dd {disk.Write / 1e6:F0} MB/s)";

    /// <summary>An analysis stage's fraction of its limit, measured on one shard pair of the job's store: reading it (disk), folding it (GEMM).</summary>
    private static string AnalysisLimit(string stage, string store, Yardstick yardstick)
    {
        var files = Directory.EnumerateFiles(store, "*.arrow", SearchOption.AllDirectories).ToList();
        if (stage == MatchingStage)
        {
            var sparse = files.Where(f => Kind(f) == ShardMetadata.KindSparse).OrderBy(f => f).ToList();
            if (sparse.Count < 2) return "";
            var a = sparse.First(f => SparseShardFile.ReadMetadata(f).Site.StartsWith(Sites[0], StringComparison.Ordinal));
            var b = sparse.First(f => SparseShardFile.ReadMetadata(f).Site.StartsWith(Sites[1], StringComparison.Ordinal) && SparseShardFile.ReadMetadata(f).ShardIndex == SparseShardFile.ReadMetadata(a).ShardIndex);
            SparseShard x = null!, y = null!;
            var read = yardstick.Time(() => { x = SparseShardFile.Read(a); y = SparseShardFile.Read(b); });
            var disk = DiskBandwidth(store, 2, (new FileInfo(a).Length + new FileInfo(b).Length) / 2);
            var rowsA = new SparseRows(x.Metadata.Width, x.Offsets, x.Indices, x.Values);
            var rowsB = new SparseRows(y.Metadata.Width, y.Offsets, y.Indices, y.Values);
            double products = 0;
            for (int t = 0; t < rowsA.Rows; t++) products += (double)(rowsA.Offsets[t + 1] - rowsA.Offsets[t]) * (rowsB.Offsets[t + 1] - rowsB.Offsets[t]);
            var fold = yardstick.Time(() => { SparsePairStatistics.FromRows(rowsA, rowsB); return 2 * products; });
            long bytes = new FileInfo(a).Length + new FileInfo(b).Length;
            return $"read {bytes / read.Seconds / disk.Read:F2} of dd read ({bytes / read.Seconds / 1e6:F0} MB/s, page cache); fold {fold.FractionOfGemm:F3} of GEMM (2 flop per co-active product)";
        }
        if (stage == CkaStage)
        {
            var dense = files.Where(f => Kind(f) == ShardMetadata.KindDense).OrderBy(f => f).ToList();
            if (dense.Count < 2) return "";
            var a = dense.First(f => DenseShardFile.ReadMetadata(f).Site == Sites[0]);
            var b = dense.First(f => DenseShardFile.ReadMetadata(f).Site == Sites[1] && DenseShardFile.ReadMetadata(f).ShardIndex == DenseShardFile.ReadMetadata(a).ShardIndex);
            DenseShard x = null!, y = null!;
            var read = yardstick.Time(() => { x = DenseShardFile.Read(a); y = DenseShardFile.Read(b); });
            var disk = DiskBandwidth(store, 2, (new FileInfo(a).Length + new FileInfo(b).Length) / 2);
            var fold = yardstick.Time(() =>
            {
                DensePairStatistics.FromRows(x.Act, y.Act, x.Rows, Hidden, Hidden);
                return 2.0 * x.Rows * 3 * Hidden * Hidden;
            });
            long bytes = new FileInfo(a).Length + new FileInfo(b).Length;
            return $"read {bytes / read.Seconds / disk.Read:F2} of dd read ({bytes / read.Seconds / 1e6:F0} MB/s, page cache); fold {fold.FractionOfGemm:F2} of GEMM (float64 XᵀX, YᵀY, XᵀY)";
        }
        return "";
    }

    private static string Kind(string path)
    {
        try { return DenseShardFile.ReadMetadata(path).Kind; }
        catch (ShardFormatException) { return SparseShardFile.ReadMetadata(path).Kind; }
    }

    private static ShardMetadata Metadata(string site, int width, string kind) => new()
    {
        Model = "gpt2", Site = site, Width = width, WeightsDigest = "w", TokenizerDigest = "t", CorpusShardDigest = "c", ShardIndex = 0, Kind = kind,
        Sae = kind == ShardMetadata.KindSparse ? new SaeIdentity("bench", "d", site) : null,
    };

    /// <summary>Seconds of unit attempts per stage (analysis units by kind), from the ledger.</summary>
    private static async Task<Dictionary<string, double>> StageSecondsAsync(string connectionString, long runId)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT u.stage, u.description, a.started_at, a.finished_at
            FROM unit_attempts a JOIN units u USING (run_id, unit_key)
            WHERE a.run_id = @run AND a.outcome = 'done'
            """, connection);
        command.Parameters.AddWithValue("run", runId);
        await using var reader = await command.ExecuteReaderAsync();
        var seconds = new Dictionary<string, double>();
        while (await reader.ReadAsync())
        {
            string stage = reader.GetString(0), description = reader.GetString(1);
            if (stage == "analysis") stage = description.Contains(MatchingAnalysis) ? MatchingStage : description.Contains(CkaAnalysis) ? CkaStage : "analysis: " + description;
            var duration = (reader.GetFieldValue<DateTimeOffset>(3) - reader.GetFieldValue<DateTimeOffset>(2)).TotalSeconds;
            seconds[stage] = seconds.GetValueOrDefault(stage) + duration;
        }
        return seconds;
    }

    /// <summary>
    /// Bytes per second of <paramref name="files"/> sequential writes of <paramref name="bytes"/> each in 1 MiB blocks,
    /// each ended by fsync (dd conv=fsync), then of reading them back (from the page cache, as a reducer reads shards
    /// a capture just wrote).
    /// </summary>
    private static (double Write, double Read) DiskBandwidth(string directory, int files, long bytes)
    {
        Directory.CreateDirectory(directory);
        var paths = Enumerable.Range(0, files).Select(_ => Path.Combine(directory, $"dd-{Guid.NewGuid():N}.bin")).ToList();
        var block = new byte[1 << 20];
        new Random(1).NextBytes(block);
        try
        {
            var watch = Stopwatch.StartNew();
            foreach (var path in paths)
            {
                using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                for (long written = 0; written < bytes; written += block.Length) stream.Write(block, 0, (int)Math.Min(block.Length, bytes - written));
                stream.Flush(flushToDisk: true);
            }
            double write = files * (double)bytes / watch.Elapsed.TotalSeconds;
            watch.Restart();
            foreach (var path in paths)
            {
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None, 1 << 20);
                while (stream.Read(block) > 0) { }
            }
            return (write, files * (double)bytes / watch.Elapsed.TotalSeconds);
        }
        finally { foreach (var path in paths) File.Delete(path); }
    }

    private static string WriteCorpus(string path, int sequences)
    {
        var random = new Random(23);
        using var writer = new StreamWriter(path);
        for (int s = 0; s < sequences; s++)
            writer.WriteLine($"{{\"ids\": [{string.Join(",", Enumerable.Range(0, SequenceLength).Select(_ => random.Next(50257)))}]}}");
        return path;
    }

    private static IEnumerable<int[]> ReadCorpus(string path) =>
        File.ReadLines(path).Select(line => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray());

    private static string WriteJob(string work, string store, List<string> saeDirs)
    {
        var path = Path.Combine(work, "pipeline.yaml");
        File.WriteAllText(path, $"""
            version: 1
            name: bench-pipeline
            corpus:
              path: corpus.jsonl
              max_tokens: {SequenceLength}
              sequences_per_shard: {SequencesPerShard}
            models:
              - name: gpt2
                path: gpt2
            captures:
              - model: gpt2
                sites: [{string.Join(", ", Sites)}]
            saes:
              - name: sae-a
                path: {saeDirs[0]}
                model: gpt2
                site: {Sites[0]}
                check_model: false
              - name: sae-b
                path: {saeDirs[1]}
                model: gpt2
                site: {Sites[1]}
                check_model: false
            analyses:
              - name: {MatchingAnalysis}
                kind: correlation
                sites: sae
              - name: {CkaAnalysis}
                kind: cka
            execution:
              device: cpu
              batch_size: 8
            output:
              store: {store}
            """);
        return path;
    }
}
