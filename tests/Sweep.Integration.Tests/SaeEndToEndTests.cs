using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Actors.Runs;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// A job on the stories260K fixture (a Llama checkpoint without tokenizer files, so the corpus is pre-tokenized ids) that
/// captures two sites, encodes one with a published SAELens SAE, trains a TopK SAE on the other, encodes it, and
/// records L0, variance explained, dead and dense counts, all against a real PostgreSQL.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SaeEndToEndTests(ServerFixture server) : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-sae-job-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Capture_train_encode_and_sae_statistics_run_end_to_end()
    {
        var model = Fixtures.TryGet("stories260K");
        if (model is null) return; // fixture absent outside CI

        // 48 documents of 40 random ids (seeded) -> 1920 tokens in 3 corpus shards.
        var random = new Random(17);
        File.WriteAllLines(Path.Combine(_root, "corpus.jsonl"), Enumerable.Range(0, 48)
            .Select(_ => "{\"ids\": [" + string.Join(", ", Enumerable.Range(0, 40).Select(_ => random.Next(3, 512))) + "]}"));
        var published = Path.Combine(_root, "published-sae");
        using (var sae = RandomSae(dIn: 64, dSae: 128, hook: "blocks.1.hook_resid_post")) SaeLensWriter.Save(sae, published);
        WriteTemporalSae(Path.Combine(_root, "temporal-sae"), dIn: 64, expFactor: 2);
        File.WriteAllText(Path.Combine(_root, "job.yaml"), $"""
            version: 1
            name: sae-e2e
            corpus:
              path: corpus.jsonl
              max_tokens: 64
              sequences_per_shard: 16
            models:
              - name: stories
                path: {model}
            captures:
              - model: stories
                sites: [blocks.1.hook_resid_post, blocks.3.hook_resid_post]
            saes:
              - name: published
                path: published-sae
                model: stories
                site: blocks.1.hook_resid_post
              - name: temporal
                path: temporal-sae
                model: stories
                site: blocks.1.hook_resid_post
            train_sae:
              - name: trained
                model: stories
                site: blocks.3.hook_resid_post
                expansion_factor: 4
                k: 8
                steps: 300
                batch_size: 128
                learning_rate: 0.002
                warmup_steps: 20
                shuffle_buffer: 1024
                dead_after_tokens: 5000
                metrics_every: 100
                checkpoint_every: 100
            execution:
              device: cpu
              batch_size: 8
            output:
              store: store
            """);

        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(Path.Combine(_root, "job.yaml"));
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);

        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);
        var units = await database.GetUnitsAsync(report.RunId);
        Assert.Contains(units, u => u.Stage == "train_sae" && u.Status == UnitStatus.Done);
        Assert.Equal(4, units.Count(u => u.Stage == "sae_stats" && u.Status == UnitStatus.Done));

        // Sparse shards in the catalog, readable, one per corpus shard and SAE, lined up with the dense shards.
        var shards = await database.GetShardsAsync(report.RunId);
        var trainedSite = "blocks.3.hook_resid_post/sae/trained";
        var sparse = shards.Where(s => s.Site == trainedSite).OrderBy(s => s.ShardIndex).ToList();
        Assert.Equal(3, sparse.Count);
        Assert.Equal(3, shards.Count(s => s.Site == "blocks.1.hook_resid_post/sae/published"));

        // The trained SAE is a SAELens folder; re-encode the dense shards with it to check the recorded statistics.
        var trainUnit = units.Single(u => u.Stage == "train_sae");
        using var trained = SaeLoader.Load(trainUnit.OutputUri!);
        Assert.False(Directory.Exists(TrainSaeExecutor.CheckpointFolder(trainUnit.OutputUri!)), "the checkpoints are removed once the SAE is written");
        Assert.Equal(("blocks.3.hook_resid_post", 8, 256), (trained.Config.HookName, trained.Config.K!.Value, trained.Config.DSae));
        long tokens = 0, active = 0;
        double sse = 0, sum2 = 0;
        var sum = new double[64];
        var fires = new long[256];
        foreach (var row in sparse)
        {
            var codes = SparseShardFile.Read(row.Uri);
            var dense = DenseShardFile.Read(shards.Single(s => s.Site == "blocks.3.hook_resid_post" && s.ShardIndex == row.ShardIndex).Uri);
            Assert.Equal(dense.Seq, codes.Seq);
            Assert.Equal(dense.Pos, codes.Pos);
            var encoding = trained.Encode(dense.Act, [dense.Rows]);
            Assert.Equal(encoding.Codes["codes"].Indices, codes.Indices);
            tokens += codes.Rows;
            active += codes.Indices.Length;
            foreach (var f in codes.Indices) fires[f]++;
            for (int i = 0; i < dense.Act.Length; i++)
            {
                double x = dense.Act[i], d = x - encoding.Reconstruction![i];
                sse += d * d; sum2 += x * x; sum[i % 64] += x;
            }
        }
        double fve = 1 - sse / (sum2 - sum.Sum(s => s * s) / tokens);
        double Metric(string sae, string measure) => report.Metrics.Single(m => m.Metric.Analysis == sae && m.Metric.Measure == measure).Metric.Value!.Value;
        Assert.Equal(active / (double)tokens, Metric("trained", SaeStatsExecutor.L0Measure), 9);
        Assert.InRange(Metric("trained", SaeStatsExecutor.L0Measure), 1, 8);
        Assert.Equal(fve, Metric("trained", SaeStatsExecutor.FveMeasure), 6);
        Assert.True(fve > 0.5, $"a trained SAE should explain most of the variance of the data it was trained on, got {fve}");
        Assert.Equal(fires.Count(f => f == 0), Metric("trained", SaeStatsExecutor.DeadMeasure));
        Assert.Equal(fires.Count(f => f > 0.1 * tokens), Metric("trained", SaeStatsExecutor.DenseMeasure));
        Assert.True(double.IsFinite(Metric("published", SaeStatsExecutor.FveMeasure)));

        // The temporal SAE's two parts are separate sites, each with its own statistics; both share one reconstruction.
        foreach (var part in new[] { "novel", "pred" })
            Assert.Equal(3, shards.Count(s => s.Site == $"blocks.1.hook_resid_post/sae/temporal/{part}"));
        var temporal = report.Metrics.Where(m => m.Metric.Analysis == "temporal" && m.Metric.Measure == SaeStatsExecutor.FveMeasure).ToList();
        Assert.Equal(["blocks.1.hook_resid_post/sae/temporal/novel", "blocks.1.hook_resid_post/sae/temporal/pred"], temporal.Select(m => m.Metric.SiteA).Order());
        Assert.Equal(temporal[0].Metric.Value, temporal[1].Metric.Value);
        Assert.InRange(report.Metrics.Single(m => m.Metric.SiteA.EndsWith("temporal/novel") && m.Metric.Measure == SaeStatsExecutor.L0Measure).Metric.Value!.Value, 0, 6);
        // Periodic training metrics: steps 100, 200, 300.
        Assert.Equal(3, report.Metrics.Count(m => m.Metric.Analysis == "trained" && m.Metric.Measure == "train_fve"));

        // A second run over the same store reuses the dense and sparse shards and the trained SAE, and reports the same statistics.
        await using var database2 = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var again = await LocalRunner.RunAsync(JobLoader.Load(Path.Combine(_root, "job.yaml")), database2, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(report.CaptureUnits + 1, again.Outcome.UnitsReused);
        Assert.Equal(trainUnit.OutputUri, (await database2.GetUnitsAsync(again.RunId)).Single(u => u.Stage == "train_sae").OutputUri);
        Assert.Equal(fve, again.Metrics.Single(m => m.Metric.Analysis == "trained" && m.Metric.Measure == SaeStatsExecutor.FveMeasure).Metric.Value!.Value, 6);
    }

    [Fact]
    public async Task Analyses_over_a_temporal_SAEs_signed_pred_codes_run_and_match_a_dense_recomputation()
    {
        var model = Fixtures.TryGet("stories260K");
        if (model is null) return; // fixture absent outside CI

        // 24 documents of 40 random ids (seeded) -> 960 tokens in 2 corpus shards.
        var random = new Random(23);
        File.WriteAllLines(Path.Combine(_root, "corpus.jsonl"), Enumerable.Range(0, 24)
            .Select(_ => "{\"ids\": [" + string.Join(", ", Enumerable.Range(0, 40).Select(_ => random.Next(3, 512))) + "]}"));
        using (var sae = RandomSae(dIn: 64, dSae: 128, hook: "blocks.1.hook_resid_post")) SaeLensWriter.Save(sae, Path.Combine(_root, "published-sae"));
        WriteTemporalSae(Path.Combine(_root, "temporal-sae"), dIn: 64, expFactor: 2);
        File.WriteAllText(Path.Combine(_root, "job.yaml"), $"""
            version: 1
            name: signed-codes
            corpus:
              path: corpus.jsonl
              max_tokens: 64
              sequences_per_shard: 12
            models:
              - name: stories
                path: {model}
            captures:
              - model: stories
                sites: [blocks.1.hook_resid_post]
            saes:
              - name: published
                path: published-sae
                model: stories
                site: blocks.1.hook_resid_post
              - name: temporal
                path: temporal-sae
                model: stories
                site: blocks.1.hook_resid_post
            analyses:
              - name: every-output
                kind: correlation
                sites: sae
              - name: pred-only
                kind: feature_matching
                sites: [blocks.1.hook_resid_post/sae/published, blocks.1.hook_resid_post/sae/temporal/pred]
                non_concept_tokens: []
                permutations: 5
            execution:
              device: cpu
              batch_size: 8
            output:
              store: store
            """);

        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var report = await LocalRunner.RunAsync(JobLoader.Load(Path.Combine(_root, "job.yaml")), database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);

        const string hook = "blocks.1.hook_resid_post/sae/";
        var shards = await database.GetShardsAsync(report.RunId);
        (double[] Values, int Rows, int Width) Dense(string site)
        {
            var parts = shards.Where(s => s.Site == hook + site).OrderBy(s => s.ShardIndex).Select(s => SparseShardFile.Read(s.Uri)).ToList();
            int rows = parts.Sum(p => p.Rows), width = parts[0].Metadata.Width, row = 0;
            var values = new double[rows * width];
            foreach (var part in parts)
                for (int t = 0; t < part.Rows; t++, row++)
                    for (int k = part.Offsets[t]; k < part.Offsets[t + 1]; k++) values[row * width + part.Indices[k]] = part.Values[k];
            return (values, rows, width);
        }
        var pred = Dense("temporal/pred");
        Assert.Contains(pred.Values, v => v < 0);   // the signed path is exercised

        // correlation over every SAE output: 3 pairs (published, novel, pred), pred's pairs included, each the mean best r
        // over live A features that a two-pass Pearson over the densified codes gives.
        var means = report.Metrics.Select(m => m.Metric).Where(m => m.Analysis == "every-output" && m.Measure == "correlation_mean_best_a_to_b").ToList();
        Assert.Equal(3, means.Count);
        foreach (var m in means)
        {
            var (a, b) = (Dense(m.SiteA[hook.Length..]), Dense(m.SiteB![hook.Length..]));
            Assert.Equal(MeanBestR(a, b), m.Value!.Value, 9);
        }
        // feature_matching on the listed outputs only: the published codes against pred.
        var pairs = report.Metrics.Select(m => m.Metric).Single(m => m.Analysis == "pred-only" && m.Measure == "feature_matching_pairs");
        Assert.Equal((hook + "published", hook + "temporal/pred"), (pairs.SiteA, pairs.SiteB));
    }

    /// <summary>Mean over live A features of the best Pearson r with a live B feature, two-pass, in float64.</summary>
    private static double MeanBestR((double[] Values, int Rows, int Width) a, (double[] Values, int Rows, int Width) b)
    {
        int n = a.Rows;
        double[][] Centred((double[] Values, int Rows, int Width) x) => Enumerable.Range(0, x.Width).Select(f =>
        {
            var column = Enumerable.Range(0, n).Select(t => x.Values[t * x.Width + f]).ToArray();
            double mean = column.Average(), raw = column.Sum(v => v * v);
            var c = column.Select(v => v - mean).ToArray();
            double ss = c.Sum(v => v * v);
            return ss <= 1e-12 * raw || ss == 0 ? null! : c.Select(v => v / Math.Sqrt(ss)).ToArray();
        }).ToArray();
        var (ca, cb) = (Centred(a), Centred(b));
        var best = ca.Where(x => x is not null).Select(x => cb.Where(y => y is not null).Max(y => x.Zip(y).Sum(p => p.First * p.Second))).ToList();
        return best.Average();
    }

    [Fact]
    public async Task Sweep_validate_reports_an_sae_of_the_wrong_width_at_its_line_and_column()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = 7, DSae = 16 };
        using (var sae = new SparseAutoencoder(config, new float[7 * 16], new float[16], new float[16 * 7], new float[7]))
            SaeLensWriter.Save(sae, Path.Combine(workspace.Root, "sae"));
        File.AppendAllText(workspace.JobPath, """

            saes:
              - name: narrow
                path: sae
                model: tiny-a
                site: blocks.1.hook_resid_post
            """);
        int line = File.ReadAllLines(workspace.JobPath).ToList().FindIndex(l => l.Contains("path: sae")) + 1;
        var result = await SweepProcess.RunAsync(workspace.Root, "validate", "job.yaml");
        Assert.Equal(2, result.ExitCode);
        var error = Assert.Single(result.StderrLines);
        Assert.StartsWith($"job.yaml:{line}:11: saes[0].path: the SAE's d_in is 7 but 'tiny-a' blocks.1.hook_resid_post is ", error);
    }

    /// <summary>A random temporal SAE folder (conf.yaml + latest_ckpt.safetensors), TopK novel codes with k = 6.</summary>
    private static void WriteTemporalSae(string dir, int dIn, int expFactor)
    {
        var random = new Random(9);
        int w = dIn * expFactor, ne = w / 8;
        (float[], long[]) T(double scale, params long[] shape) =>
            (Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray(), shape);
        Directory.CreateDirectory(dir);
        Sweep.Models.Checkpoints.SafeTensors.Write(Path.Combine(dir, "latest_ckpt.safetensors"), new Dictionary<string, (float[], long[])>
        {
            ["D"] = T(0.5, w, dIn), ["b"] = T(0.1, 1, dIn),
            ["attn_layers.0.k_ctx.weight"] = T(0.1, ne, w), ["attn_layers.0.k_ctx.bias"] = T(0.1, ne),
            ["attn_layers.0.q_target.weight"] = T(0.1, ne, w), ["attn_layers.0.q_target.bias"] = T(0.1, ne),
            ["attn_layers.0.v_ctx.weight"] = T(0.1, w, w), ["attn_layers.0.v_ctx.bias"] = T(0.1, w),
            ["attn_layers.0.c_proj.weight"] = T(0.1, w, w), ["attn_layers.0.c_proj.bias"] = T(0.1, w),
        });
        File.WriteAllText(Path.Combine(dir, "conf.yaml"), $"""
            llm:
              dimin: {dIn}
            sae:
              exp_factor: {expFactor}
              n_heads: 2
              n_attn_layers: 1
              bottleneck_factor: 8
              sae_diff_type: topk
              kval_topk: 6
              tied_weights: true
            """);
    }

    internal static SparseAutoencoder RandomSae(int dIn, int dSae, string hook, string model = "stories")
    {
        var random = new Random(3);
        float[] G(int n, double scale) => Enumerable.Range(0, n).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = dIn, DSae = dSae, HookName = hook, ModelName = model,
        };
        return new SparseAutoencoder(config, G(dIn * dSae, 0.2), G(dSae, 0.1), G(dSae * dIn, 0.2), G(dIn, 0.1));
    }
}
