using System.Text.Json.Nodes;
using Sweep.Models.Architectures;
using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>The config.json switches of the Llama family: explicit head_dim, Mistral's sliding window, RoPE scaling, and variants refused.</summary>
public sealed class ArchitectureVariantTests
{
    private static void EditConfig(string dir, Action<JsonObject> edit)
    {
        var path = Path.Combine(dir, "config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.WriteAllText(path, json.ToJsonString());
    }

    [Fact]
    public void An_explicit_head_dim_wider_than_hidden_over_heads_loads_and_runs()
    {
        using var m = new TinyModel(seed: 2, TinyModel.Shape with { HeadDim = 16 });   // 4 heads x 16 = 64 > hidden 32
        using var model = CausalLm.Load(m.Directory);
        Assert.Equal(16, model.Descriptor.Config.HeadDim);
        Assert.All(model.Logits([1, 2, 3]), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void With_a_sliding_window_a_token_sees_only_its_receptive_field()
    {
        // 3 layers, window 2: a last-layer state depends on itself and the 3 tokens before it.
        using var m = new TinyModel(seed: 4);
        int[] seq = [5, 9, 2, 7, 7, 1, 30, 4, 8];
        var site = HookPoints.ResidPost(2);
        float[] Last(CausalLm model, int[] s) => model.Capture([s], [site], 1)[site].Row(s.Length - 1).ToArray();

        float[] full, suffix;
        using (var plain = CausalLm.Load(m.Directory)) { full = Last(plain, seq); suffix = Last(plain, seq[^4..]); }
        Assert.True(full.Zip(suffix).Max(p => MathF.Abs(p.First - p.Second)) > 1e-3, "without a window, earlier tokens matter");

        EditConfig(m.Directory, c => c["sliding_window"] = 2);
        using var windowed = CausalLm.Load(m.Directory);
        Assert.Equal(2, windowed.Descriptor.Config.SlidingWindow);
        full = Last(windowed, seq);
        suffix = Last(windowed, seq[^4..]);   // same receptive field at other absolute positions: RoPE is relative
        Assert.True(full.Zip(suffix).Max(p => MathF.Abs(p.First - p.Second)) < 1e-4);
    }

    [Fact]
    public void Rope_scaling_linear_and_llama3_follow_the_transformers_formulas()
    {
        var baseConfig = new HfConfig { ModelType = "llama", HiddenSize = 4096, IntermediateSize = 1, NumLayers = 1, NumHeads = 32, NumKeyValueHeads = 8, VocabSize = 1, RopeTheta = 500000 };
        var plain = Llama.RopeInverseFrequencies(baseConfig);
        Assert.Equal(64, plain.Length);
        Assert.Equal(1f, plain[0]);
        Assert.Equal((float)Math.Pow(500000, -2.0 * 10 / 128), plain[10]);

        var linear = Llama.RopeInverseFrequencies(baseConfig with { RopeScaling = new RopeScaling("linear", 4, 1, 4, 8192) });
        Assert.Equal(plain.Select(f => (float)(f / 4.0)), linear, new FloatNear(1e-6f));

        // Llama 3.1's parameters: wavelengths under 2048 unchanged, over 8192 divided by 8, blended between.
        var llama3 = Llama.RopeInverseFrequencies(baseConfig with { RopeScaling = new RopeScaling("llama3", 8, 1, 4, 8192) });
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelen = 2 * Math.PI / plain[i];
            if (wavelen < 2048) Assert.Equal(plain[i], llama3[i], 1e-6f * plain[i]);
            else if (wavelen > 8192) Assert.Equal(plain[i] / 8, llama3[i], 1e-6f * plain[i]);
            else Assert.InRange(llama3[i], plain[i] / 8 * 0.999f, plain[i] * 1.001f);
        }
        Assert.Contains(llama3.Select((f, i) => (f, i)), p => p.f < plain[p.i] && p.f > plain[p.i] / 8 * 1.01f);
    }

    private sealed class FloatNear(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => MathF.Abs(a - b) <= tolerance * MathF.Max(1, MathF.Abs(a));
        public int GetHashCode(float f) => 0;
    }

    [Fact]
    public void Variants_this_architecture_would_compute_wrongly_are_refused()
    {
        using var m = new TinyModel(seed: 6);
        var config = Path.Combine(m.Directory, "config.json");

        EditConfig(m.Directory, c => c["rope_scaling"] = new JsonObject { ["rope_type"] = "yarn", ["factor"] = 4.0 });
        Assert.Equal($"{config}: rope_scaling type 'yarn' is not supported, expected linear or llama3 (or none)",
                     Assert.Throws<ModelLoadException>(() => CausalLm.Load(m.Directory)).Message);

        EditConfig(m.Directory, c => { c["rope_scaling"] = null; c["attention_bias"] = true; });
        Assert.StartsWith($"{config}: attention_bias/mlp_bias true is not supported",
                          Assert.Throws<ModelLoadException>(() => CausalLm.Load(m.Directory)).Message);

        EditConfig(m.Directory, c => { c["attention_bias"] = false; c["hidden_act"] = "gelu"; });
        Assert.StartsWith($"{config}: hidden_act 'gelu' is not supported", Assert.Throws<ModelLoadException>(() => CausalLm.Load(m.Directory)).Message);
        EditConfig(m.Directory, c => c["hidden_act"] = "silu");

        var weights = Path.Combine(m.Directory, "model.safetensors");
        Dictionary<string, (float[], long[])> tensors;
        using (var file = SafeTensors.Open(weights))
            tensors = file.Entries.Values.ToDictionary(e => e.Name, e => (file.ReadFloats(e.Name), e.Shape));
        tensors["model.layers.0.self_attn.q_proj.bias"] = (new float[32], [32]);
        SafeTensors.Write(weights, tensors);
        Assert.Equal($"{weights}: tensor 'model.layers.0.self_attn.q_proj.bias' is not used by the Llama architecture (a variant with extra weights?), expected only the tensors of LlamaForCausalLM",
                     Assert.Throws<ModelLoadException>(() => CausalLm.Load(m.Directory)).Message);
    }
}
