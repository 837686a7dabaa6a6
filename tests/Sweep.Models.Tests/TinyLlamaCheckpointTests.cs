using System.Security.Cryptography;
using Sweep.Models.Checkpoints;
using Sweep.Models.Demo;
using Xunit;

namespace Sweep.Models.Tests;

public sealed class TinyLlamaCheckpointTests
{
    private static string Sha256(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void The_same_seed_writes_byte_identical_files_and_another_seed_different_weights()
    {
        using var a = new TinyModel(seed: 11);
        using var b = new TinyModel(seed: 11);
        using var c = new TinyModel(seed: 12);
        foreach (var file in new[] { "config.json", "model.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(a.Directory, file)), File.ReadAllBytes(Path.Combine(b.Directory, file)));
        Assert.NotEqual(Sha256(Path.Combine(a.Directory, "model.safetensors")), Sha256(Path.Combine(c.Directory, "model.safetensors")));
        Assert.Equal(File.ReadAllBytes(Path.Combine(a.Directory, "config.json")), File.ReadAllBytes(Path.Combine(c.Directory, "config.json")));
        Assert.Empty(Directory.GetFiles(a.Directory, "*.tmp"));
    }

    [Fact]
    public void The_bytes_are_pinned_so_every_machine_writes_the_same_model()
    {
        // If these change, every cached shard keyed by these weights changes too: change them only on purpose.
        // (An independent Python SplitMix64 + Irwin-Hall reimplementation reproduced every weight of this file bit for bit.)
        using var m = new TinyModel(seed: 7);
        Assert.Equal("b3e194aef81a228dca92fc2b3468da4edcf42d1b8ef259f4563e8ce5531350c8", Sha256(Path.Combine(m.Directory, "model.safetensors")));
        Assert.Equal("302eaae9bf5102d8cb6c8555ce563865cc8dc96c0287033696b3e2259aa3ad2b", Sha256(Path.Combine(m.Directory, "config.json")));
    }

    [Fact]
    public void Weights_look_like_a_fresh_initialisation()
    {
        using var m = new TinyModel(seed: 3);
        using var file = SafeTensors.Open(Path.Combine(m.Directory, "model.safetensors"));
        var embed = file.ReadFloats("model.embed_tokens.weight", [96, 32]);
        double mean = embed.Average(v => (double)v), std = Math.Sqrt(embed.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.002, 0.002);
        Assert.InRange(std, 0.018, 0.022);
        Assert.All(file.ReadFloats("model.norm.weight", [32]), v => Assert.Equal(1f, v));
        Assert.False(file.Contains("lm_head.weight"));   // tied
        Assert.Equal("pt", file.Metadata["format"]);
    }

    [Fact]
    public void The_config_is_a_real_llama_config_and_the_model_loads_and_runs()
    {
        using var m = new TinyModel(seed: 5, TinyModel.Shape with { BosTokenId = 0, EosTokenId = 95 });
        var config = HfConfig.Read(m.Directory);
        Assert.Equal(("llama", 32, 48, 3, 4, 2, 96, true, 0, 95),
            (config.ModelType, config.HiddenSize, config.IntermediateSize, config.NumLayers, config.NumHeads, config.NumKeyValueHeads,
             config.VocabSize, config.TieWordEmbeddings, config.BosTokenId, config.EosTokenId));
        var json = File.ReadAllText(Path.Combine(m.Directory, "config.json"));
        Assert.Contains("\"architectures\": [\n    \"LlamaForCausalLM\"\n  ]", json.ReplaceLineEndings("\n"));
        Assert.Contains("\"hidden_act\": \"silu\"", json);

        using var model = CausalLm.Load(m.Directory);
        var logits = model.Logits([0, 5, 17]);
        Assert.Equal(96, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(6, model.GreedyDecode([0], 5).Length);
    }

    [Fact]
    public void An_untied_model_writes_and_uses_its_own_lm_head()
    {
        using var tied = new TinyModel(seed: 5);
        using var untied = new TinyModel(seed: 5, TinyModel.Shape with { TieWordEmbeddings = false });
        using var file = SafeTensors.Open(Path.Combine(untied.Directory, "model.safetensors"));
        Assert.True(file.Contains("lm_head.weight"));
        using var a = CausalLm.Load(tied.Directory);
        using var b = CausalLm.Load(untied.Directory);
        Assert.NotEqual(a.Logits([1, 2, 3]), b.Logits([1, 2, 3]));
    }
}
