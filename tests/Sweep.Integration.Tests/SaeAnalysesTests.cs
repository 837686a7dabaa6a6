using System.Text.Json;
using Sweep.Actors.Execution;
using Sweep.Actors.Runs;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Matching;
using Sweep.Analysis.Statistics;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Integration.Tests;

/// <summary>
/// Random-weight SAELens SAEs attached to a site of each demo model, plus a TopK SAE trained in the job; `correlation`
/// and `feature_matching` between the SAE code sites. The stored rows must equal an independent recomputation from the sparse shard files: dense
/// correlation of the densified codes for the matches, brute-force top tokens and Pearson r, then the pure
/// FeatureMatching/PairedSimilarity functions for the final pairs and numbers.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SaeAnalysesTests(ServerFixture server)
{
    private const string SiteA = "blocks.1.hook_resid_post/sae/sae-a";
    private const string SiteB = "blocks.2.hook_resid_post/sae/sae-b";
    private const string TrainedSite = "blocks.2.hook_resid_post/sae/trained";

    [Fact]
    public async Task Correlation_and_feature_matching_between_sae_sites_equal_a_recomputation_from_the_shards()
    {
        using var workspace = new JobWorkspace();
        using (var sae = RandomSae(64, 96, "tiny-a", "blocks.1.hook_resid_post", seed: 5)) SaeLensWriter.Save(sae, Path.Combine(workspace.Root, "sae-a"));
        using (var sae = RandomSae(48, 80, "tiny-b", "blocks.2.hook_resid_post", seed: 6)) SaeLensWriter.Save(sae, Path.Combine(workspace.Root, "sae-b"));
        File.WriteAllText(workspace.JobPath, """
            version: 1
            name: sae-analyses
            corpus:
              path: corpus.txt
              max_tokens: 32
              sequences_per_shard: 8
            models:
              - name: tiny-a
                path: models/tiny-a
              - name: tiny-b
                path: models/tiny-b
            captures:
              - model: tiny-a
                sites: [blocks.1.hook_resid_post]
              - model: tiny-b
                sites: [blocks.2.hook_resid_post]
            saes:
              - name: sae-a
                path: sae-a
                model: tiny-a
                site: blocks.1.hook_resid_post
              - name: sae-b
                path: sae-b
                model: tiny-b
                site: blocks.2.hook_resid_post
            train_sae:
              - name: trained
                model: tiny-b
                site: blocks.2.hook_resid_post
                expansion_factor: 2
                k: 4
                steps: 40
                batch_size: 64
                warmup_steps: 5
                shuffle_buffer: 256
                dead_after_tokens: 1000
                metrics_every: 40
            analyses:
              - name: corr
                kind: correlation
                sites: sae
              - name: fm
                kind: feature_matching
                permutations: 20
                seed: 4
              - name: fm-hungarian
                kind: feature_matching
                hungarian: true
                shared_top_token: true
                non_concept_tokens: []
                top_tokens: 5
                permutations: 10
            execution:
              device: cpu
              batch_size: 4
            output:
              store: store
            """);
        await using var database = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        var spec = JobLoader.Load(workspace.JobPath);
        var report = await LocalRunner.RunAsync(spec, database, NoProgress.Instance, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, (await database.GetRunAsync(report.RunId))!.Status);

        var shards = await database.GetShardsAsync(report.RunId);
        var a = ReadCodes(shards, SiteA);
        var b = ReadCodes(shards, SiteB);
        Assert.True(a.Shards >= 4, "the corpus should span several shards");
        Assert.Equal(a.Items, b.Items);
        int n = a.Items.Length;
        var metrics = (await database.GetMetricsAsync(report.RunId)).Select(m => m.Metric).ToList();
        var matches = await database.GetFeatureMatchesAsync(report.RunId);

        // correlation: the dense path on the densified codes gives the same best matches, values and metrics.
        var dense = DenseCorrelation.FromStatistics(DensePairStatistics.FromRows(a.Dense, b.Dense, n, 96, 80), new CorrelationOptions(TopK: 1));
        var corrRows = matches.Where(m => m.Analysis == "corr" && m.SiteB == SiteB).ToList();
        Assert.Equal(96 + 80, corrRows.Count);
        foreach (var row in corrRows)
        {
            Assert.Equal((SiteA, SiteB), (row.SiteA, row.SiteB));
            var best = row.Direction == SweepDatabase.AToB ? dense.AToB[row.Feature] : dense.BToA[row.Feature];
            Assert.Equal(best.Index, row.Match ?? -1);
            Assert.Equal(best.Correlation, row.Correlation, 1e-9);
        }
        double Stored(string analysis, string measure) => metrics.Single(m => m.Analysis == analysis && m.Measure == measure && (m.SiteA, m.SiteB) == (SiteA, SiteB)).Value!.Value;
        Assert.Equal(dense.AToB.Where(m => m.Index >= 0).Average(m => m.Correlation), Stored("corr", "correlation_mean_best_a_to_b"), 1e-9);
        Assert.Equal(dense.MutualPairs().Count, Stored("corr", "correlation_mutual_pairs"));

        // The trained SAE's code site pairs too (its analysis units wait for the training): sae-b ~ trained, checked the same way.
        Assert.Equal(3, matches.Where(m => m.Analysis == "corr").Select(m => (m.SiteA, m.SiteB)).Distinct().Count());
        var prepared = PreparedRun.Prepare(spec, report.RunId);
        var training = prepared.Units.Single(u => u.Stage == WorkStage.TrainSae);
        var analysisUnits = prepared.Units.Where(u => u.Payload is Sweep.Jobs.Planning.AnalysisUnit).ToList();
        Assert.Equal(3 * 3, analysisUnits.Count);
        Assert.All(analysisUnits, u => Assert.Equal(u.Description.Contains("trained", StringComparison.Ordinal), u.DependsOn.Contains(training.Key)));
        var trained = ReadCodes(shards, TrainedSite);
        var trainedDense = DenseCorrelation.FromStatistics(DensePairStatistics.FromRows(b.Dense, trained.Dense, n, 80, 96), new CorrelationOptions(TopK: 1));
        var trainedRows = matches.Where(m => m.Analysis == "corr" && (m.SiteA, m.SiteB) == (SiteB, TrainedSite)).ToList();
        Assert.Equal(80 + 96, trainedRows.Count);
        foreach (var row in trainedRows)
        {
            var best = row.Direction == SweepDatabase.AToB ? trainedDense.AToB[row.Feature] : trainedDense.BToA[row.Feature];
            Assert.Equal(best.Index, row.Match ?? -1);
            Assert.Equal(best.Correlation, row.Correlation, 1e-9);
        }

        // feature_matching: pairs from the dense matches and brute-force top tokens, SVCCA/RSA of the decoder rows.
        var tokenizer = TokenizerLoader.Load(Path.Combine(workspace.Root, "models", "tiny-a"));
        var nonConcept = AnalysisParameters.DefaultNonConceptTokens.Select(t => tokenizer.Encode(t, addBos: false)).Where(ids => ids.Count == 1)
            .Select(ids => ids[0]).Concat(new[] { tokenizer.BosId, tokenizer.EosId, tokenizer.PadId }.OfType<int>()).Select(i => i.ToString()).ToHashSet();
        Assert.NotEmpty(nonConcept);
        using var saeA = (SparseAutoencoder)SaeLoader.Load(Path.Combine(workspace.Root, "sae-a"));
        using var saeB = (SparseAutoencoder)SaeLoader.Load(Path.Combine(workspace.Root, "sae-b"));
        var decoderA = DenseMatrix.FromFloats(saeA.WDec, 96, 64);
        var decoderB = DenseMatrix.FromFloats(saeB.WDec, 80, 48);
        foreach (var analysis in spec.Analyses.Where(x => x.Kind == AnalysisKind.FeatureMatching))
        {
            var p = analysis.Parameters;
            var options = new MatchingOptions
            {
                MinCorrelation = p.MinCorrelation, OneToOne = p.OneToOne, Hungarian = p.Hungarian,
                NonConceptTokens = p.NonConceptTokens.Count > 0 ? nonConcept : [], NonConceptShare = p.NonConceptShare, RequireSharedTopToken = p.SharedTopToken,
            };
            var expected = FeatureMatching.Pair(dense, options, TopTokens(a, 96, p.TopTokens), TopTokens(b, 80, p.TopTokens),
                (i, j) => Pearson(a.Dense, 96, i, b.Dense, 80, j, n));
            Assert.True(expected.Count >= 3, $"{analysis.Name}: the test needs a few pairs, got {expected.Count}");
            // The token filters must bite on this data, or the test would not check them.
            var unfiltered = FeatureMatching.Pair(dense, options with { NonConceptTokens = new HashSet<string>(), RequireSharedTopToken = false },
                correlation: (i, j) => Pearson(a.Dense, 96, i, b.Dense, 80, j, n));
            Assert.True(unfiltered.Count > expected.Count, $"{analysis.Name}: {unfiltered.Count} pairs without the token filters, {expected.Count} with");
            var stored = matches.Where(m => m.Analysis == analysis.Name && (m.SiteA, m.SiteB) == (SiteA, SiteB)).OrderBy(m => m.Feature).ToList();
            Assert.Equal(expected.OrderBy(x => x.B).Select(x => (x.B, x.A)), stored.Select(m => (m.Feature, m.Match!.Value)));
            Assert.All(stored, m => Assert.Equal(SweepDatabase.BToA, m.Direction));
            Assert.Equal(expected.OrderBy(x => x.B).Select(x => x.Correlation), stored.Select(m => m.Correlation), new Tolerance(1e-9));
            Assert.Equal(expected.Count, Stored(analysis.Name, "feature_matching_pairs"));

            var settings = PairAnalysisExecutor.Settings(p);
            foreach (var (measure, name) in new[] { (PairedMeasure.Svcca, "svcca"), (PairedMeasure.Rsa, "rsa") })
            {
                var (shuffled, subsets) = PairedSimilarity.Compare(decoderA, decoderB, expected,
                    (x, y) => PairedSimilarity.Measure(x, y, measure, settings.KeepVariance, settings.Inner, settings.Outer), p.Permutations, p.Seed);
                Assert.Equal(shuffled.Observed, Stored(analysis.Name, $"paired_{name}"), 1e-9);
                foreach (var (baseline, result) in new[] { ("shuffled", shuffled), ("subsets", subsets) })
                {
                    Assert.Equal(result.Mean, Stored(analysis.Name, $"paired_{name}_{baseline}_mean"), 1e-9);
                    Assert.Equal(result.Std, Stored(analysis.Name, $"paired_{name}_{baseline}_std"), 1e-9);
                    Assert.Equal(result.PValue, Stored(analysis.Name, $"paired_{name}_{baseline}_p"), 1e-9);
                }
            }
            var json = JsonDocument.Parse(metrics.First(m => m.Analysis == analysis.Name && m.Measure == "paired_rsa" && m.SiteA == SiteA).ParamsJson).RootElement;
            Assert.Equal((p.Permutations, p.Seed, p.Hungarian), (json.GetProperty("permutations").GetInt32(), json.GetProperty("seed").GetInt32(), json.GetProperty("hungarian").GetBoolean()));
        }
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }

    private sealed record Codes(float[] Dense, long[] Items, int[] Tokens, int Shards);

    /// <summary>All of a site's sparse shards, in corpus order, densified.</summary>
    private static Codes ReadCodes(IReadOnlyList<ShardRow> shards, string site)
    {
        var parts = shards.Where(s => s.Site == site).OrderBy(s => s.ShardIndex).Select(s => SparseShardFile.Read(s.Uri)).ToList();
        var dense = parts.SelectMany(s => new SparseRows(s.Metadata.Width, s.Offsets, s.Indices, s.Values).ToDense()).ToArray();
        var items = parts.SelectMany(s => s.Seq.Zip(s.Pos, (q, p) => ((long)q << 32) | (uint)p)).ToArray();
        return new Codes(dense, items, parts.SelectMany(s => s.Token).ToArray(), parts.Count);
    }

    /// <summary>Brute force: per feature, every positive activation sorted by value (descending), then item id; the first k tokens.</summary>
    private static IReadOnlyList<IReadOnlyList<string>> TopTokens(Codes codes, int width, int k) =>
        Enumerable.Range(0, width).Select(f => (IReadOnlyList<string>)Enumerable.Range(0, codes.Items.Length)
            .Where(r => codes.Dense[r * width + f] > 0)
            .OrderByDescending(r => codes.Dense[r * width + f]).ThenBy(r => codes.Items[r])
            .Take(k).Select(r => codes.Tokens[r].ToString()).ToList()).ToList();

    private static double Pearson(float[] x, int wx, int i, float[] y, int wy, int j, int n)
    {
        double mx = 0, my = 0;
        for (int r = 0; r < n; r++) { mx += x[r * wx + i]; my += y[r * wy + j]; }
        mx /= n; my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int r = 0; r < n; r++)
        {
            double dx = x[r * wx + i] - mx, dy = y[r * wy + j] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? 0 : sxy / Math.Sqrt(sxx * syy);
    }

    private static SparseAutoencoder RandomSae(int dIn, int dSae, string model, string hook, int seed)
    {
        var random = new Random(seed);
        float[] G(int count, double scale) => Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = dIn, DSae = dSae, HookName = hook, ModelName = model,
        };
        // Negative encoder biases keep the ReLU codes sparse.
        return new SparseAutoencoder(config, G(dIn * dSae, 0.3), G(dSae, 0.3).Select(v => v - 0.3f).ToArray(), G(dSae * dIn, 0.2), G(dIn, 0.1));
    }
}
