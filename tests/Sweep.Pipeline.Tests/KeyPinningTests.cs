using Sweep.Identity;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes.Training;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Tests;

/// <summary>
/// Keys that name stored work: capture unit keys, shard cache keys, SAE training keys and trained SAE folders. The
/// expected values were computed by the code as it was before identity moved into one module; a run made before
/// that change must still find its shards and SAEs, so these keys may never change by accident.
/// </summary>
public sealed class KeyPinningTests
{
    private static readonly string[] Sites = ["blocks.1.hook_resid_post", "blocks.0.hook_resid_pre"];

    [Fact]
    public void Capture_unit_keys_are_the_ones_runs_made_before_stored()
    {
        Assert.Equal("369fea18fee14d18e489b9a211c5f49ef7c6e7eec7d19812139b2d8379b90740", Keys.Capture("tiny-a", "sha256:weights", Sites, "sha256:tokenizer", "sha256:shard0", "float32"));
        Assert.Equal("626f892b860b7124bf82cb2fa5d34e5f0f763afdf05739b6c1ac896090a0fcfb", Keys.Capture("tiny-a", "sha256:weights", Sites, "sha256:tokenizer", "sha256:shard0", "float32", "bfloat16"));
    }

    private static ShardMetadata Dense(string dtype = ShardDtype.Float32) => new()
    {
        Model = "tiny-a", Site = "blocks.1.hook_resid_post", Width = 64, WeightsDigest = "sha256:weights", TokenizerDigest = "sha256:tokenizer",
        CorpusShardDigest = "sha256:shard0", ShardIndex = 0, ComputeDtype = "float32", Dtype = dtype,
    };

    [Fact]
    public void Shard_cache_keys_are_the_ones_runs_made_before_stored()
    {
        Assert.Equal("d08218f431215d44467d010c0b72688ff315576a01b27299c088bc94cd2c7625", Dense().CacheKey());
        Assert.Equal("019647ff6f247e3b99327bf0e091b92d5291d823f3f5c97d14a63d8cebdcaadf", Dense(ShardDtype.Float16).CacheKey());
        var sparse = Dense() with
        {
            Site = SaeIdentity.SiteOf("blocks.1.hook_resid_post", "sae-a"), Width = 512, Kind = ShardMetadata.KindSparse,
            Sae = new SaeIdentity("sae-a", "sha256:sae", "blocks.1.hook_resid_post", "codes", "topk", "np/1"),
        };
        Assert.Equal("2fb7082bffa338e7683f3129b6886a122863c5a0b8cae5b4f541639cfc4a16b6", sparse.CacheKey());
        Assert.Equal("f679c6830cb2fef4662421ae0be8c1c04bda4d1dad302f05d1dd464d948bebc4", (sparse with { Sae = sparse.Sae! with { Codes = "novel", InputDtype = ShardDtype.BFloat16 } }).CacheKey());
    }

    private static TrainSaeSpec Train => new()
    {
        Name = "trained", Model = "tiny-a", Site = "blocks.1.hook_resid_post",
        Options = new TopKTrainingOptions { DSae = 256, K = 8, Steps = 40, BatchSize = 32, Seed = 3 },
    };

    private static JobPlan Plan => new(
        [new CaptureUnit("capture-0", "tiny-a", 0, Sites), new CaptureUnit("capture-1", "tiny-a", 1, Sites), new CaptureUnit("capture-b", "tiny-b", 0, ["x"])], []);

    [Fact]
    public void Sae_training_keys_and_trained_folders_are_the_ones_runs_made_before_stored()
    {
        Assert.Equal("45404cbec0f1d5bdc6c2a174f235eb235b918ad38b3ee63a50e08f88e4143a7e", UnitPlanner.TrainKey(Train, Plan));
        // Trained folders changed once on purpose: Keys.TrainerVersion 2 (TopK encoding in tiles trains other weights).
        Assert.Equal("trained-f916318956c7152a", Path.GetFileName(new SaeRun(Context(ActivationDtype.Float32)).TrainedFolder(Train)));
        Assert.Equal("trained-b3aac69e4ec1e659", Path.GetFileName(new SaeRun(Context(ActivationDtype.Float16)).TrainedFolder(Train)));
        var stats = UnitPlanner.Plan(Context(ActivationDtype.Float32).Spec, Plan, Context(ActivationDtype.Float32).Corpus).OfType<SaeStatsWork>().Single();
        Assert.Equal("7777f5183f3dfe5ac45f12a345b7c2e069441e7c8724b12419f7d71a02d3a91f", stats.Key);
    }

    private static RunContext Context(ActivationDtype shardDtype)
    {
        var corpus = new TokenizedCorpus([new CorpusShard(0, [[1, 2, 3]], "sha256:shard0"), new CorpusShard(1, [[4, 5]], "sha256:shard1")],
            "sha256:corpus", "sha256:tokenizer", 2, 5);
        var spec = new JobSpec
        {
            Version = 1, Name = "pins", Models = [], Captures = [], Analyses = [], TrainSaes = [Train],
            Corpus = new CorpusSpec { Path = "/c.txt", DisplayPath = "c.txt", Format = CorpusFormat.Txt, Tokenizer = "tiny-a" },
            Execution = new ExecutionSpec(), Output = new OutputSpec { Store = "/store", ShardDtype = shardDtype },
            File = "pins.yaml", BaseDirectory = "/", SourceText = "", CanonicalText = "", Digest = "",
        };
        return new RunContext(1, spec, corpus, new Dictionary<string, string> { ["tiny-a"] = "sha256:weights" }, "/store");
    }
}
