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
        Assert.True(Bitwise(a.Codes["codes"].Values, b.Codes["codes"].Values) && Bitwise(a.Reconstruction!, b.Reconstruction!));
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

    /// <summary>The reference trainer saves its whole Hydra config; this is the published Gemma-2-2B one's shape.</summary>
    private const string ReferenceConf = """
        data:
          batch_size: 100
          cache_dir: ../../activations/precomputed_activations/precomputed_activations_gemma2/
          context_length: 500
          dtype: bfloat16
          epochs: 1
          hf_name: monology/pile-uncopyrighted
          num_total_steps: 200000
          num_workers: 2
        deploy: true
        device_id: cuda:0
        eval:
          save_tables: false
        llm:
          dimin: 8
          model_hf_name: google/gemma-2-2b
          tokenizer_hf_name: google/gemma-2-2b
        log:
          log_interval: 10
          save_interval: 20000
          save_multiple: false
          wandb_project_name: TemporalSAE_test
        optimizer:
          beta1: 0.9
          beta2: 0.95
          decay_lr: true
          grad_clip: 1.0
          learning_rate: 0.001
          min_lr: 0.0009
          warmup_iters: 200
          weight_decay: 0.0001
        sae:
          block_id: 1
          bottleneck_factor: 4
          exp_factor: 4
          gamma_reg: 10
          kval_topk: 5
          n_attn_layers: 1
          n_heads: 2
          sae_diff_type: topk
          sae_type: temporal
          scaling_factor: 0.00666666667
          tied_weights: true
        seed: 42
        tag: scratch
        """;

    [Fact]
    public void The_reference_trainers_full_conf_yaml_is_read_with_its_scaling_factor_and_model()
    {
        RandomSaes.WriteTemporal(_dir, 8, 4, 2, 4, 1, "topk", 5, true, 1);
        File.WriteAllText(Path.Combine(_dir, "conf.yaml"), ReferenceConf);
        var config = SaeLoader.Describe(_dir).Config;
        Assert.Equal((0.00666666667, "google/gemma-2-2b", 32, 5), (config.ScalingFactor, config.ModelName, config.DSae, config.K!.Value));
        using var sae = (TemporalSae)SaeLoader.Load(_dir);
        var saved = Path.Combine(_dir, "saved");
        TemporalSaeWriter.Save(sae, saved);
        Assert.Equal(sae.Config, SaeLoader.Describe(saved).Config);
    }

    [Theory]
    [InlineData("sae:", "  normalize_inputs: true", "sae.normalize_inputs", "sae.scaling_factor")]
    [InlineData("llm:", "  layer: 12", "llm.layer", "llm.dimin, llm.hook_name, llm.model_hf_name")]
    [InlineData("seed: 42", "scaling: 0.5", "scaling", "expected only llm, sae (and the training-only deploy")]
    public void A_conf_yaml_key_Sweep_does_not_understand_is_refused_naming_the_file_and_key(string after, string line, string key, string listed)
    {
        RandomSaes.WriteTemporal(_dir, 8, 4, 2, 4, 1, "topk", 5, true, 1);
        var conf = Path.Combine(_dir, "conf.yaml");
        File.WriteAllText(conf, ReferenceConf.Replace(after + "\n", after + "\n" + line + "\n"));
        var e = Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(_dir));
        Assert.StartsWith($"{conf}: key '{key}' is not understood (it may change the codes), expected only ", e.Message);
        Assert.Contains(listed, e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-0.5")]
    [InlineData("fast")]
    public void A_scaling_factor_that_is_not_a_positive_number_is_refused(string value)
    {
        RandomSaes.WriteTemporal(_dir, 8, 4, 2, 4, 1, "topk", 5, true, 1);
        File.WriteAllText(Path.Combine(_dir, "conf.yaml"), ReferenceConf.Replace("scaling_factor: 0.00666666667", "scaling_factor: " + value));
        Assert.Contains("sae.scaling_factor", Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(_dir)).Message);
    }

    private static bool Bitwise(float[] a, float[] b) => MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));
}
