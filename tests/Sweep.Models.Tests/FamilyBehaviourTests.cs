using System.Text.Json.Nodes;
using Sweep.Models.Hooks;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>What every family guarantees beyond its numbers: batch invariance, early stopping, the hook points it defines, clear refusals.</summary>
public sealed class FamilyBehaviourTests
{
    public static TheoryData<string> Families => new() { "gpt2", "gpt_neox", "gpt_neox-sequential", "llama", "mistral", "gemma2" };

    private static List<int[]> Sequences(int vocab, params int[] lengths)
    {
        var rng = new Random(99);
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray()).ToList();
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void A_token_has_the_same_activations_whatever_shares_its_batch(string family)
    {
        using var checkpoint = TinyCheckpoint.Write(family, seed: 5);
        using var model = CausalLm.Load(checkpoint.Directory);
        var sequences = Sequences(model.Descriptor.Config.VocabSize, 9, 1, 14, 4);
        var sites = model.Descriptor.HookPoints.ToList();
        var alone = sequences.Select(s => model.Capture([s], sites, 1)).ToList();
        foreach (int batchSize in new[] { 2, 4 })
        {
            var batched = model.Capture(sequences, sites, batchSize);
            foreach (var site in sites)
            {
                Assert.Equal(sequences.Sum(s => s.Length) - (site == HookPoints.LogProbsNext ? sequences.Count : 0), batched[site].Rows);
                ReferenceConformanceTests.AssertClose(alone.SelectMany(a => a[site].Values).ToArray(), batched[site].Values,
                    $"{family} {site} batch size {batchSize}", tolerance: 1e-5);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void One_early_site_stops_the_pass_early_with_the_same_values(string family)
    {
        using var checkpoint = TinyCheckpoint.Write(family, seed: 6);
        using var model = CausalLm.Load(checkpoint.Directory);
        var sequences = Sequences(model.Descriptor.Config.VocabSize, 6, 3);
        var all = model.Capture(sequences, model.Descriptor.HookPoints.ToList(), 2);
        foreach (var site in new[] { HookPoints.Embed, HookPoints.AttnOut(0), HookPoints.ResidPost(1) })
            Assert.Equal(all[site].Values, model.Capture(sequences, [site], 2)[site].Values);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void Repeated_passes_leave_no_live_tensors_behind(string family)
    {
        using var checkpoint = TinyCheckpoint.Write(family, seed: 8);
        using var model = CausalLm.Load(checkpoint.Directory);
        var sites = model.Descriptor.HookPoints.ToList();
        int[][] sequences = [[1, 2, 3], [4, 5, 6, 7, 8, 9, 10], [11]];
        model.Capture(sequences, sites, 2);
        model.Logits([1, 2, 3]);
        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 3; i++)
        {
            model.Capture(sequences, sites, 2);
            model.Capture(sequences, [HookPoints.Embed], 3);
            model.Logits([1, 2, 3, 4]);
        }
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }

    [Fact]
    public void A_parallel_residual_gpt_neox_has_no_resid_mid_and_refuses_it()
    {
        using var parallel = TinyCheckpoint.Write("gpt_neox");
        using var sequential = TinyCheckpoint.Write("gpt_neox-sequential");
        Assert.DoesNotContain(ModelDescriptor.Read(parallel.Directory).HookPoints, h => h.EndsWith("hook_resid_mid"));
        Assert.Contains(HookPoints.ResidMid(1), ModelDescriptor.Read(sequential.Directory).HookPoints);
        using var model = CausalLm.Load(parallel.Directory);
        Assert.Contains("unknown hook point(s) 'blocks.0.hook_resid_mid'",
            Assert.Throws<ArgumentException>(() => model.Capture([[1, 2]], [HookPoints.ResidMid(0)], 1)).Message);
    }

    [Fact]
    public void Gpt2_hook_embed_is_the_token_embedding_and_resid_pre_adds_positions()
    {
        using var checkpoint = TinyCheckpoint.Write("gpt2");
        using var model = CausalLm.Load(checkpoint.Directory);
        int[] tokens = [4, 4];
        var captured = model.Capture([tokens], [HookPoints.Embed, HookPoints.ResidPre(0)], 1);
        Assert.Equal(captured[HookPoints.Embed].Row(0).ToArray(), captured[HookPoints.Embed].Row(1).ToArray());   // same token
        Assert.NotEqual(captured[HookPoints.ResidPre(0)].Row(0).ToArray(), captured[HookPoints.ResidPre(0)].Row(1).ToArray());   // other position
    }

    [Fact]
    public void An_unknown_model_type_names_the_supported_ones()
    {
        using var checkpoint = TinyCheckpoint.Write("llama", edit: c => c["model_type"] = "falcon");
        var config = Path.Combine(checkpoint.Directory, "config.json");
        Assert.Equal($"{config}: model_type 'falcon' is not supported, expected one of: gemma2, gpt2, gpt_neox, llama, mistral",
                     Assert.Throws<ModelLoadException>(() => CausalLm.Load(checkpoint.Directory)).Message);
    }

    [Theory]
    [InlineData("gpt2", "activation_function", "relu", "activation_function 'relu' is not supported, expected gelu_new")]
    [InlineData("gpt2", "scale_attn_by_inverse_layer_idx", true, "scale_attn_by_inverse_layer_idx true is not supported")]
    [InlineData("gpt_neox", "hidden_act", "gelu_fast", "hidden_act 'gelu_fast' is not supported, expected gelu")]
    [InlineData("gpt_neox", "rotary_pct", 0.01, "rotary_pct 0.01 gives 0 rotary dimensions per head")]
    [InlineData("gemma2", "hidden_activation", "gelu", "hidden_activation 'gelu' is not supported, expected gelu_pytorch_tanh")]
    public void Config_variants_a_family_would_compute_wrongly_are_refused(string family, string key, object value, string expected)
    {
        using var checkpoint = TinyCheckpoint.Write(family, edit: c => c[key] = JsonValue.Create(value));
        var e = Assert.Throws<ModelLoadException>(() => CausalLm.Load(checkpoint.Directory));
        Assert.StartsWith($"{Path.Combine(checkpoint.Directory, "config.json")}: {expected}", e.Message);
    }

    [Fact]
    public void A_gemma2_layer_types_list_overrides_the_even_layer_default()
    {
        using var checkpoint = TinyCheckpoint.Write("gemma2");
        var config = ModelDescriptor.Read(checkpoint.Directory).Config;
        Assert.Equal([true, false, true], Enumerable.Range(0, 3).Select(l => Architectures.Gemma2.IsSliding(config, l)));
        var flipped = config with { LayerTypes = ["full_attention", "sliding_attention", "full_attention"] };
        Assert.Equal([false, true, false], Enumerable.Range(0, 3).Select(l => Architectures.Gemma2.IsSliding(flipped, l)));
        Assert.False(Architectures.Gemma2.IsSliding(config with { SlidingWindow = null }, 0));
    }
}
