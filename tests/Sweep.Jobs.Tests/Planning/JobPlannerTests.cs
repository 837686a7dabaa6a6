using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Jobs.Tests.Corpus;
using Xunit;

namespace Sweep.Jobs.Tests.Planning;

public sealed class JobPlannerTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public void Dispose() => _dir.Dispose();

    private static readonly Dictionary<string, string> Weights = new() { ["tiny-a"] = "weights-a", ["tiny-b"] = "weights-b" };

    /// <summary>Three shards (5 one-sequence documents, 2 per shard).</summary>
    private static TokenizedCorpus ThreeShards(string last = "e") =>
        CorpusLoader.Build(new[] { "a", "b", "c", "d", last }.Select((t, i) => new CorpusDocument(i + 1, t, null)).ToList(),
            new CharTokenizer(false), new CorpusOptions(8, 2), "corpus.txt");

    private JobSpec Spec(string pairs = "all", string dtype = "float32") =>
        _dir.Parse(JobDirectory.ValidJob.Replace("    kind: cka", $"    kind: cka\n    pairs: {pairs}").Replace("  device: cpu", $"  device: {(dtype == "float32" ? "cpu" : "cuda:0")}\n  dtype: {dtype}"));   // reduced precision is CUDA-only

    [Fact]
    public void One_capture_unit_per_model_and_shard_with_all_its_sites()
    {
        var plan = JobPlanner.Plan(Spec(), ThreeShards(), Weights);
        Assert.Equal(6, plan.Captures.Count);
        Assert.Equal(
            [("tiny-a", 0), ("tiny-a", 1), ("tiny-a", 2), ("tiny-b", 0), ("tiny-b", 1), ("tiny-b", 2)],
            plan.Captures.Select(c => (c.Model, c.ShardIndex)));
        Assert.Equal(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], plan.Capture("tiny-a", 1).Sites);
        Assert.Equal(["blocks.1.hook_resid_post"], plan.Capture("tiny-b", 2).Sites);
    }

    [Theory]
    [InlineData("all", 3)]
    [InlineData("across", 2)]
    [InlineData("within", 1)]
    public void Cka_has_one_unit_per_unordered_pair_of_distinct_sites(string pairs, int expected)
    {
        var plan = JobPlanner.Plan(Spec(pairs), ThreeShards(), Weights);
        Assert.Equal(expected, plan.Analyses.Count);
        Assert.All(plan.Analyses, u => Assert.NotEqual(u.A, u.B));
        Assert.All(plan.Analyses, u => Assert.Equal(("layer-cka", "cka"), (u.Analysis, u.Kind)));
        Assert.Equal(expected, plan.Analyses.Select(u => string.Join("|", new[] { u.A.ToString(), u.B!.ToString() }.Order(StringComparer.Ordinal))).Distinct().Count());
    }

    [Fact]
    public void Pairs_are_in_capture_order()
    {
        var plan = JobPlanner.Plan(Spec("all"), ThreeShards(), Weights);
        var a0 = new SiteRef("tiny-a", "blocks.0.hook_resid_post");
        var a1 = new SiteRef("tiny-a", "blocks.1.hook_resid_post");
        var b1 = new SiteRef("tiny-b", "blocks.1.hook_resid_post");
        Assert.Equal([(a0, a1), (a0, b1), (a1, b1)], plan.Analyses.Select(u => (u.A, u.B)));
        Assert.Equal(6, plan.DependenciesOf(plan.Analyses[1]).Count);
        Assert.Equal(3, plan.DependenciesOf(plan.Analyses[0]).Count);
    }

    [Fact]
    public void Same_inputs_give_the_same_keys()
    {
        var a = JobPlanner.Plan(Spec(), ThreeShards(), Weights);
        var b = JobPlanner.Plan(Spec(), ThreeShards(), new Dictionary<string, string>(Weights));
        Assert.Equal(a.Captures.Select(c => c.Key), b.Captures.Select(c => c.Key));
        Assert.Equal(a.Analyses, b.Analyses);
        var all = a.Captures.Select(c => c.Key).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, k => Assert.Matches("^[0-9a-f]{64}$", k));
    }

    [Fact]
    public void Changed_weights_change_that_models_keys()
    {
        var a = JobPlanner.Plan(Spec("within"), ThreeShards(), Weights);
        var b = JobPlanner.Plan(Spec("within"), ThreeShards(), new Dictionary<string, string>(Weights) { ["tiny-a"] = "retrained-a" });
        Assert.All(a.Captures.Zip(b.Captures), p => Assert.Equal(p.First.Model == "tiny-b", p.First.Key == p.Second.Key));
    }

    [Fact]
    public void Changed_shard_changes_only_that_shards_capture_keys()
    {
        var a = JobPlanner.Plan(Spec(), ThreeShards(), Weights);
        var b = JobPlanner.Plan(Spec(), ThreeShards(last: "z"), Weights);
        Assert.All(a.Captures.Zip(b.Captures), p => Assert.Equal(p.First.ShardIndex != 2, p.First.Key == p.Second.Key));
    }

    [Fact]
    public void Dtype_is_part_of_every_key()
    {
        var a = JobPlanner.Plan(Spec(), ThreeShards(), Weights);
        var b = JobPlanner.Plan(Spec(dtype: "bfloat16"), ThreeShards(), Weights);
        Assert.All(a.Captures.Zip(b.Captures), p => Assert.NotEqual(p.First.Key, p.Second.Key));
    }

    [Fact]
    public void Shard_dtype_changes_every_key_and_float32_keeps_the_keys_it_had()
    {
        var a = JobPlanner.Plan(Spec(), ThreeShards(), Weights);
        var b = JobPlanner.Plan(_dir.Parse(JobDirectory.WithShardDtype("float16")), ThreeShards(), Weights);
        Assert.All(a.Captures.Zip(b.Captures), p => Assert.NotEqual(p.First.Key, p.Second.Key));
        // The key every float32 capture had before shard_dtype existed (SHA-256 of its fields, one per line).
        Assert.Equal("041c9b3e840853a06490741ccf1bb3ce4f19583994bae08625b6ecc8d5408c99", Keys.Capture("m", "w", ["x"], "t", "s", "float32", "float32"));
        Assert.NotEqual(Keys.Capture("m", "w", ["x"], "t", "s", "float32", "float16"), Keys.Capture("m", "w", ["x"], "t", "s", "float32", "bfloat16"));
    }

    [Fact]
    public void Capture_keys_do_not_depend_on_site_order_but_on_the_model_name()
    {
        Assert.Equal(Keys.Capture("m", "w", ["x", "y"], "t", "s", "float32"), Keys.Capture("m", "w", ["y", "x"], "t", "s", "float32"));
        // Two job names for the same weights are two ledger units (their shard files are still shared by content).
        Assert.NotEqual(Keys.Capture("m", "w", ["x"], "t", "s", "float32"), Keys.Capture("n", "w", ["x"], "t", "s", "float32"));
    }

    [Fact]
    public void A_model_without_a_weights_digest_is_an_argument_error()
    {
        var e = Assert.Throws<ArgumentException>(() => JobPlanner.Plan(Spec(), ThreeShards(), new Dictionary<string, string> { ["tiny-a"] = "w" }));
        Assert.Contains("tiny-b", e.Message);
    }
}
