using Sweep.Analysis.Measures;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Tests;

/// <summary>How an analysis is split into map units over shard ranges, merge units in a balanced tree and a finalize unit.</summary>
public sealed class AnalysisPlannerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-planner-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly Dictionary<string, string> Weights = new() { ["tiny-a"] = "sha256:a", ["tiny-b"] = "sha256:b" };

    /// <summary>A job over two 16-wide models (config only: planning reads no weights) with the given analyses.</summary>
    private JobSpec Job(string analyses)
    {
        foreach (var model in new[] { "tiny-a", "tiny-b" })
        {
            Directory.CreateDirectory(Path.Combine(_dir, model));
            File.WriteAllText(Path.Combine(_dir, model, "config.json"), """
                {"model_type": "llama", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
                 "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 64, "max_position_embeddings": 64}
                """);
            File.WriteAllBytes(Path.Combine(_dir, model, "model.safetensors"), []);
        }
        File.WriteAllText(Path.Combine(_dir, "corpus.jsonl"), "{\"ids\": [1, 2, 3]}\n");
        var path = Path.Combine(_dir, "job.yaml");
        File.WriteAllText(path, $"""
            version: 1
            name: planner
            corpus:
              path: corpus.jsonl
            models:
              - name: tiny-a
                path: tiny-a
              - name: tiny-b
                path: tiny-b
            captures:
              - model: tiny-a
                sites: [blocks.0.hook_resid_post]
              - model: tiny-b
                sites: [blocks.1.hook_resid_post]
            analyses:
            {analyses}
            """);
        return JobLoader.Load(path);
    }

    private static TokenizedCorpus Corpus(int shards, long tokensPerShard = 100, string salt = "") =>
        new(Enumerable.Range(0, shards).Select(i => new CorpusShard(i, [], $"sha256:shard{i}{salt}")).ToList(), "sha256:corpus", "sha256:tok",
            shards, shards * tokensPerShard);

    private static IReadOnlyList<WorkUnit> Units(JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string>? weights = null)
    {
        var plan = JobPlanner.Plan(spec, corpus, weights ?? Weights);
        return UnitPlanner.Plan(spec, plan, corpus);
    }

    [Fact]
    public void A_small_job_plans_one_unit_per_pair_that_folds_and_finishes_at_once()
    {
        var units = Units(Job("  - name: cka\n    kind: cka"), Corpus(5));
        var analysis = Assert.Single(units.OfType<AnalysisUnitWork>());
        var finalize = Assert.IsType<AnalysisFinalizeWork>(analysis);
        Assert.Equal((new ShardRange(0, 5), 0), (finalize.Range, finalize.Inputs.Count));
        Assert.Equal(units.OfType<CaptureWork>().Select(c => c.Key).Order(), finalize.DependsOn.Order());
    }

    [Fact]
    public void Shards_per_unit_splits_a_pair_into_map_units_merged_in_a_balanced_tree()
    {
        var units = Units(Job("  - name: cka\n    kind: cka\n    shards_per_unit: 1"), Corpus(9));
        var maps = units.OfType<AnalysisMapWork>().ToList();
        var merges = units.OfType<AnalysisMergeWork>().ToList();
        var finalize = Assert.Single(units.OfType<AnalysisFinalizeWork>());

        Assert.Equal(Enumerable.Range(0, 9).Select(i => new ShardRange(i, 1)), maps.Select(m => m.Range));
        // 9 partials -> 5 -> 3 -> 2 (an odd one carried up each level): 4 + 2 + 1 merges, then the finalize merges the last two.
        Assert.Equal(7, merges.Count);
        Assert.Null(finalize.Range);
        Assert.Equal(2, finalize.Inputs.Count);
        Assert.Equal(new ShardRange(0, 9), new ShardRange(finalize.Inputs[0].Covers.First, finalize.Inputs[1].Covers.Last + 1));
        Assert.All(merges, m => Assert.Equal(m.Inputs.Select(i => i.UnitKey), m.DependsOn));
        Assert.All(merges, m => Assert.Equal(m.Covers, new ShardRange(m.Inputs[0].Covers.First, m.Inputs[1].Covers.Last - m.Inputs[0].Covers.First + 1)));

        // A map waits only for the captures of its own shard; every partial is read by exactly one unit.
        var captures = units.OfType<CaptureWork>().ToDictionary(c => c.Key);
        Assert.All(maps, m => Assert.Equal([(m.Range.First, "tiny-a"), (m.Range.First, "tiny-b")],
            m.DependsOn.Select(k => (captures[k].Capture.ShardIndex, captures[k].Capture.Model)).Order()));
        var read = merges.SelectMany(m => m.Inputs).Concat(finalize.Inputs).Select(i => i.UnitKey).ToList();
        Assert.Equal(maps.Select(m => m.Key).Concat(merges.Select(m => m.Key)).Order(), read.Order());
        var keys = units.Select(u => u.Key).ToList();
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void The_planner_sizes_ranges_from_the_data_and_caps_their_number()
    {
        var spec = Job("  - name: cka\n    kind: cka");
        var target = Units(spec, Corpus(1000, tokensPerShard: 1_000_000)).OfType<AnalysisUnitWork>().First().Target;
        // 1M tokens x (16 + 16) float32 = 128 MB per shard; a map unit reads 512 MiB: 5 shards.
        Assert.Equal(5, AnalysisPlanner.ShardsPerUnit(target, Corpus(1000, tokensPerShard: 1_000_000)));
        Assert.Equal(200, Units(spec, Corpus(1000, tokensPerShard: 1_000_000)).OfType<AnalysisMapWork>().Count());
        // Shards larger than a map unit needs: one shard per unit, but never more than 256 ranges.
        Assert.Equal(4, AnalysisPlanner.ShardsPerUnit(target, Corpus(1000, tokensPerShard: 10_000_000)));
        Assert.Equal(1, AnalysisPlanner.ShardsPerUnit(target, Corpus(100, tokensPerShard: 10_000_000)));
    }

    [Fact]
    public void Analysis_unit_keys_change_with_parameters_weights_and_shards_and_nothing_else()
    {
        string Finalize(JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string>? weights = null) =>
            Units(spec, corpus, weights).OfType<AnalysisFinalizeWork>().Single().Key;
        var svcca = Job("  - name: s\n    kind: svcca");
        var key = Finalize(svcca, Corpus(3));
        Assert.Equal(key, Finalize(Job("  - name: s\n    kind: svcca\n    keep_variance: 0.99"), Corpus(3)));
        Assert.NotEqual(key, Finalize(Job("  - name: s\n    kind: svcca\n    keep_variance: 0.9"), Corpus(3)));
        Assert.NotEqual(key, Finalize(svcca, Corpus(3), new Dictionary<string, string>(Weights) { ["tiny-b"] = "sha256:retrained" }));
        Assert.NotEqual(key, Finalize(svcca, Corpus(3, salt: "x")));
        Assert.NotEqual(key, Finalize(Job("  - name: t\n    kind: svcca"), Corpus(3)));
    }

    /// <summary>A one-site measure (row count per site), registered nowhere: the planner takes whatever measure an analysis names.</summary>
    private sealed class CountRows : Measure<NoParameters, CountRows.Count>
    {
        public sealed class Count(long rows) : IPartial { public long Rows { get; } = rows; }
        public override string Kind => "count_rows";
        public override SiteData Data => SiteData.Dense;
        public override Arity Arity => Arity.Site;
        public override NoParameters DefaultParameters => NoParameters.Instance;
        public override IReadOnlyList<ParameterKey> Keys => [];
        public override long PartialBytes(NoParameters p, MeasureShape shape) => 8;
        public override Count Fold(NoParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks) => new(blocks().Sum(b => (long)b.Rows));
        public override Count Merge(NoParameters p, Count a, Count b) => new(a.Rows + b.Rows);
        public override void Write(Count partial, PartialWriter writer) => writer.Write("rows", partial.Rows);
        public override Count Read(NoParameters p, MeasureShape shape, int piece, PartialReader reader) => new(reader.ReadInt64("rows"));
        public override MeasureResult Finish(NoParameters p, MeasureShape shape, IEnumerable<Count> pieces, SideInputs side) =>
            new([new MeasureValue("rows", pieces.Single().Rows, pieces.Single().Rows, new Dictionary<string, object>())]);
    }

    [Fact]
    public void A_one_site_measure_is_planned_per_site_over_that_sites_captures_only()
    {
        var spec = Job("  - name: cka\n    kind: cka");
        var measure = new CountRows();
        spec = spec with { Analyses = [spec.Analyses[0] with { Name = "rows", Measure = measure, Parameters = NoParameters.Instance, ShardsPerUnit = 2 }] };
        var units = Units(spec, Corpus(4));
        var targets = units.OfType<AnalysisUnitWork>().Select(u => u.Target).DistinctBy(t => t.A).ToList();
        Assert.Equal(["tiny-a/blocks.0.hook_resid_post", "tiny-b/blocks.1.hook_resid_post"], targets.Select(t => t.A.ToString()));
        Assert.All(targets, t => Assert.Equal((null, (int?)null), (t.B, t.Shape.WidthB)));
        var captures = units.OfType<CaptureWork>().ToDictionary(c => c.Key);
        Assert.All(units.OfType<AnalysisMapWork>(), m => Assert.All(m.DependsOn, k => Assert.Equal(m.Target.A.Model, captures[k].Capture.Model)));
        Assert.Equal(2 * 2, units.OfType<AnalysisMapWork>().Count());
        Assert.Equal(2, units.OfType<AnalysisFinalizeWork>().Count());
    }
}
