using System.Text.Json;
using Sweep.Models.Checkpoints;
using TorchSharp;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>CausalLm.Load: sharded checkpoints, and every bad input as a one-line ModelLoadException.</summary>
public sealed class CausalLmLoadTests : IDisposable
{
    private readonly TinyModel _tiny = new(seed: 21);
    private string Weights => Path.Combine(_tiny.Directory, "model.safetensors");
    public void Dispose() => _tiny.Dispose();

    private Dictionary<string, (float[] Data, long[] Shape)> ReadAll()
    {
        using var file = SafeTensors.Open(Weights);
        return file.Entries.Values.ToDictionary(e => e.Name, e => (file.ReadFloats(e.Name), e.Shape));
    }

    private static ModelLoadException LoadFails(string dir, string device = "cpu", string dtype = "float32")
    {
        var e = Assert.Throws<ModelLoadException>(() => CausalLm.Load(dir, device, dtype));
        Assert.DoesNotContain('\n', e.Message);
        return e;
    }

    [Fact]
    public void A_tensor_of_the_wrong_shape_names_the_file_the_tensor_and_the_expected_shape()
    {
        var tensors = ReadAll();
        tensors["model.layers.0.self_attn.q_proj.weight"] = (new float[32 * 16], [32, 16]);
        SafeTensors.Write(Weights, tensors);
        Assert.Equal($"{Weights}: tensor 'model.layers.0.self_attn.q_proj.weight' has shape [32, 16], expected [32, 32]", LoadFails(_tiny.Directory).Message);
    }

    [Fact]
    public void A_missing_tensor_names_the_file_and_the_tensor()
    {
        var tensors = ReadAll();
        tensors.Remove("model.layers.2.mlp.down_proj.weight");
        SafeTensors.Write(Weights, tensors);
        Assert.Equal($"{Weights}: tensor 'model.layers.2.mlp.down_proj.weight' is missing, expected shape [32, 48]", LoadFails(_tiny.Directory).Message);
    }

    [Fact]
    public void A_corrupt_header_and_a_missing_weights_file_are_one_line_errors()
    {
        File.WriteAllBytes(Weights, [8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'"', 0, 0, 0, 0, 0, 0]);
        Assert.StartsWith($"{Weights}: corrupt safetensors header: not valid JSON", LoadFails(_tiny.Directory).Message);
        File.Delete(Weights);
        Assert.StartsWith($"{Weights}: file not found, expected model.safetensors or model.safetensors.index.json", LoadFails(_tiny.Directory).Message);
    }

    [Fact]
    public void Reduced_precision_on_cpu_and_unknown_devices_or_dtypes_are_refused()
    {
        Assert.Equal("dtype 'bfloat16' on cpu is not supported (reduced precision runs on CUDA only), expected float32 on cpu",
                     LoadFails(_tiny.Directory, "cpu", "bfloat16").Message);
        Assert.Equal("dtype 'float64' is not supported, expected one of: float32, bfloat16, float16", LoadFails(_tiny.Directory, "cpu", "float64").Message);
        Assert.Equal("device 'gpu' is not valid, expected cpu, cuda:N or auto", LoadFails(_tiny.Directory, "gpu").Message);
        if (!torch.cuda.is_available())
        {
            Assert.StartsWith("device 'cuda:0': CUDA is not available", LoadFails(_tiny.Directory, "cuda:0").Message);
            using var auto = CausalLm.Load(_tiny.Directory, "auto");
            Assert.Equal("cpu", auto.Device);
        }
    }

    [Fact]
    public void A_sharded_checkpoint_loads_to_the_same_model_as_a_single_file()
    {
        float[] expected;
        using (var single = CausalLm.Load(_tiny.Directory)) expected = single.Logits([3, 1, 4, 1, 5]);

        var tensors = ReadAll();
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();
        var shards = new[] { names.Take(names.Count / 2).ToList(), names.Skip(names.Count / 2).ToList() };
        var weightMap = new Dictionary<string, string>();
        for (int i = 0; i < shards.Length; i++)
        {
            var file = $"model-{i + 1:D5}-of-{shards.Length:D5}.safetensors";
            SafeTensors.Write(Path.Combine(_tiny.Directory, file), shards[i].ToDictionary(n => n, n => tensors[n]));
            foreach (var n in shards[i]) weightMap[n] = file;
        }
        File.Delete(Weights);
        File.WriteAllText(Path.Combine(_tiny.Directory, "model.safetensors.index.json"),
            JsonSerializer.Serialize(new { metadata = new { total_size = 0 }, weight_map = weightMap }));

        using var sharded = CausalLm.Load(_tiny.Directory);
        Assert.Equal(2, sharded.Descriptor.WeightFiles.Count);
        Assert.Equal(expected, sharded.Logits([3, 1, 4, 1, 5]));
        Assert.Matches("^[0-9a-f]{64}$", sharded.WeightsDigest);
    }
}
