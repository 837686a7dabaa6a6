using System.Runtime.InteropServices;
using Sweep.Models.Checkpoints;
using Sweep.Models.Saes;

namespace Sweep.Models.Tests.Saes;

public sealed class SaeLoaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-sae-load-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData(SaeArchitecture.Standard, null, "float32")]
    [InlineData(SaeArchitecture.TopK, 5, "float32")]
    [InlineData(SaeArchitecture.JumpRelu, null, "float32")]
    [InlineData(SaeArchitecture.TopK, 5, "bfloat16")]
    public void SaeLens_save_then_load_is_exact_and_saving_again_gives_the_same_bytes(SaeArchitecture arch, int? k, string dtype)
    {
        var config = RandomSaes.Config(arch, k: k, norm: SaeNormalization.ConstantNormRescale) with { Dtype = dtype };
        using var original = RandomSaes.SaeLens(config, seed: 5);
        if (dtype == "bfloat16") // values representable in bfloat16, so the round trip can be exact
            foreach (var a in new[] { original.WEnc, original.BEnc, original.WDec, original.BDec })
                for (int i = 0; i < a.Length; i++) a[i] = SafeTensors.Bf16ToFloat(SafeTensors.FloatToBf16(a[i]));
        var first = Path.Combine(_dir, "first");
        SaeLensWriter.Save(original, first);

        using var loaded = (SparseAutoencoder)SaeLoader.Load(first);
        Assert.Equal(original.Config, loaded.Config);
        Assert.True(Bitwise(original.WEnc, loaded.WEnc) && Bitwise(original.BEnc, loaded.BEnc));
        Assert.True(Bitwise(original.WDec, loaded.WDec) && Bitwise(original.BDec, loaded.BDec));
        Assert.Equal(original.Threshold is null, loaded.Threshold is null);
        if (original.Threshold is { } t) Assert.True(Bitwise(t, loaded.Threshold!));

        var second = Path.Combine(_dir, "second");
        SaeLensWriter.Save(loaded, second);
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "sae_weights.safetensors")), File.ReadAllBytes(Path.Combine(second, "sae_weights.safetensors")));
        Assert.Equal(File.ReadAllText(Path.Combine(first, "cfg.json")), File.ReadAllText(Path.Combine(second, "cfg.json")));
        Assert.Equal(SaeLoader.Describe(first).ComputeDigest(), SaeLoader.Describe(second).ComputeDigest());
    }

    [Fact]
    public void A_sparsify_sae_saved_as_saelens_loads_back_exactly_and_encodes_identically()
    {
        var source = Path.Combine(_dir, "sparsify");
        RandomSaes.WriteSparsify(source, dIn: 16, dSae: 48, k: 4, seed: 8);
        using var original = (SparseAutoencoder)SaeLoader.Load(source);
        var converted = Path.Combine(_dir, "as-saelens");
        SaeLensWriter.Save(original, converted);
        using var loaded = (SparseAutoencoder)SaeLoader.Load(converted);
        Assert.Equal(original.Config with { Format = SaeFormat.SaeLens }, loaded.Config);
        Assert.True(Bitwise(original.WEnc, loaded.WEnc) && Bitwise(original.WDec, loaded.WDec) && Bitwise(original.BEnc, loaded.BEnc) && Bitwise(original.BDec, loaded.BDec));
        var x = RandomSaes.Gaussian(new Random(4), 10 * 16, 1.0);
        var a = original.Encode(x, [10]);
        var b = loaded.Encode(x, [10]);
        Assert.Equal(a.Codes["codes"].Indices, b.Codes["codes"].Indices);
        Assert.True(Bitwise(a.Codes["codes"].Values, b.Codes["codes"].Values) && Bitwise(a.Reconstruction, b.Reconstruction));
    }

    [Theory]
    [InlineData(true, "relu", null)]
    [InlineData(false, "topk", 5)]
    public void Temporal_save_then_load_is_exact_and_saving_again_gives_the_same_bytes(bool tied, string diffType, int? k)
    {
        var source = Path.Combine(_dir, "temporal");
        RandomSaes.WriteTemporal(source, dIn: 8, expFactor: 4, heads: 2, bottleneck: 4, layers: 2, diffType: diffType, k: k, tied: tied, seed: 6);
        using var original = (TemporalSae)SaeLoader.Load(source);
        var first = Path.Combine(_dir, "first");
        TemporalSaeWriter.Save(original, first);
        using var loaded = (TemporalSae)SaeLoader.Load(first);
        Assert.Equal(original.Config, loaded.Config);
        Assert.Equal((original.NumHeads, original.BottleneckFactor, original.Layers.Count), (loaded.NumHeads, loaded.BottleneckFactor, loaded.Layers.Count));
        Assert.True(Bitwise(original.D, loaded.D) && Bitwise(original.B, loaded.B));
        Assert.Equal(original.E is null, loaded.E is null);
        for (int i = 0; i < original.Layers.Count; i++)
        {
            var (o, l) = (original.Layers[i], loaded.Layers[i]);
            Assert.True(Bitwise(o.KWeight, l.KWeight) && Bitwise(o.KBias, l.KBias) && Bitwise(o.QWeight, l.QWeight) && Bitwise(o.QBias, l.QBias)
                && Bitwise(o.VWeight, l.VWeight) && Bitwise(o.VBias, l.VBias) && Bitwise(o.OWeight, l.OWeight) && Bitwise(o.OBias, l.OBias));
        }
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, "latest_ckpt.safetensors")), File.ReadAllBytes(Path.Combine(first, "latest_ckpt.safetensors")));
        var second = Path.Combine(_dir, "second");
        TemporalSaeWriter.Save(loaded, second);
        Assert.Equal(SaeLoader.Describe(first).ComputeDigest(), SaeLoader.Describe(second).ComputeDigest());
    }

    [Fact]
    public void Written_cfg_json_has_the_keys_saelens_reads()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.TopK, k: 4), seed: 1);
        SaeLensWriter.Save(sae, _dir);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "cfg.json")));
        var root = doc.RootElement;
        Assert.Equal("topk", root.GetProperty("architecture").GetString());
        Assert.Equal(4, root.GetProperty("k").GetInt32());
        Assert.Equal(24, root.GetProperty("d_in").GetInt32());
        Assert.Equal(64, root.GetProperty("d_sae").GetInt32());
        Assert.Equal("none", root.GetProperty("normalize_activations").GetString());
        Assert.Equal("blocks.1.hook_resid_post", root.GetProperty("metadata").GetProperty("hook_name").GetString());
        Assert.Equal("tiny/1-res-test", root.GetProperty("metadata").GetProperty("neuronpedia_id").GetString());
    }

    [Fact]
    public void Pre_v6_saelens_config_with_flat_keys_and_activation_fn_kwargs_is_read()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.TopK, k: 3), seed: 2);
        SaeLensWriter.Save(sae, _dir);
        File.WriteAllText(Path.Combine(_dir, "cfg.json"), """
            {"architecture": "standard", "d_in": 24, "d_sae": 64, "dtype": "torch.float32", "model_name": "gpt2-small",
             "hook_name": "blocks.8.hook_resid_pre", "hook_layer": 8, "hook_head_index": null, "activation_fn_str": "topk",
             "activation_fn_kwargs": {"k": 3}, "apply_b_dec_to_input": false, "finetuning_scaling_factor": false,
             "context_size": 128, "prepend_bos": true, "normalize_activations": "expected_average_only_in",
             "neuronpedia_id": "gpt2-small/8-res-jb"}
            """);
        var config = SaeLoader.Describe(_dir).Config;
        Assert.Equal((SaeArchitecture.TopK, 3, "blocks.8.hook_resid_pre", "gpt2-small/8-res-jb", false, SaeNormalization.ExpectedAverageOnlyIn),
            (config.Architecture, config.K!.Value, config.HookName!, config.NeuronpediaId!, config.ApplyBDecToInput, config.Normalization));
    }

    [Theory]
    [InlineData("\"architecture\": \"gated\"", "architecture 'gated' is not supported")]
    [InlineData("\"normalize_activations\": \"learned\"", "normalize_activations 'learned' is not supported")]
    [InlineData("\"d_sae\": -3", "key 'd_sae' is -3, expected a positive integer")]
    [InlineData("\"architecture\": \"topk\"", "a TopK SAE needs k > 0")]
    public void Bad_saelens_configs_are_refused_naming_the_file_and_key(string entry, string message)
    {
        using (var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard), seed: 2)) SaeLensWriter.Save(sae, _dir);
        var key = entry.Split(':')[0].Trim('"');
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, "cfg.json")))!.AsObject();
        cfg[key] = System.Text.Json.Nodes.JsonNode.Parse(entry.Split(':', 2)[1]);
        File.WriteAllText(Path.Combine(_dir, "cfg.json"), cfg.ToJsonString());
        var e = Assert.Throws<SaeLoadException>(() => SaeLoader.Load(_dir));
        Assert.StartsWith(Path.Combine(_dir, "cfg.json") + ": ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Weights_of_the_wrong_shape_or_extra_tensors_are_refused()
    {
        using (var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard), seed: 2)) SaeLensWriter.Save(sae, _dir);
        var weights = Path.Combine(_dir, "sae_weights.safetensors");
        using (var file = SafeTensors.Open(weights))
        {
            var tensors = file.Entries.Keys.ToDictionary(n => n, n => (file.ReadFloats(n), file.Entries[n].Shape));
            tensors["b_gate"] = (new float[64], [64]);
            File.Delete(weights);
            SafeTensors.Write(weights, tensors);
        }
        Assert.Contains("unexpected tensor(s) b_gate", Assert.Throws<SaeLoadException>(() => SaeLoader.Load(_dir)).Message);

        using (var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard), seed: 2)) SaeLensWriter.Save(sae, _dir);
        var cfg = File.ReadAllText(Path.Combine(_dir, "cfg.json")).Replace("\"d_in\": 24", "\"d_in\": 25");
        File.WriteAllText(Path.Combine(_dir, "cfg.json"), cfg);
        Assert.Contains("tensor 'W_enc' has shape [24, 64], expected [25, 64]", Assert.Throws<SaeLoadException>(() => SaeLoader.Load(_dir)).Message);
    }

    [Fact]
    public void A_folder_without_an_sae_names_the_layouts_it_expects()
    {
        var e = Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(_dir));
        Assert.Contains("no SAE found, expected cfg.json + sae_weights.safetensors (SAELens)", e.Message);
    }

    [Fact]
    public void Temporal_batchtopk_is_refused_by_name()
    {
        RandomSaes.WriteTemporal(_dir, 8, 4, 2, 4, 1, "batchtopk", 2, true, 1);
        Assert.Contains("sae.sae_diff_type 'batchtopk' is not supported", Assert.Throws<SaeLoadException>(() => SaeLoader.Load(_dir)).Message);
    }

    private static bool Bitwise(float[] a, float[] b) => MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));
}
