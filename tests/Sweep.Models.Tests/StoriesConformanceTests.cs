using System.Text.Json;
using Sweep.Tests.Common;
using Xunit;
using Xunit.Abstractions;

namespace Sweep.Models.Tests;

/// <summary>stories260K (a real trained llama2.c model converted to HF layout) against its reference decoder.</summary>
public sealed class StoriesConformanceTests(ITestOutputHelper output)
{
    [Fact]
    public void Greedy_decoding_from_bos_reproduces_the_200_reference_tokens()
    {
        var dir = Fixtures.TryGet("stories260K");
        if (dir is null) { output.WriteLine("skipped: fixture stories260K missing (outside CI)"); return; }

        // {"description": ..., "ids": [1, ...]}: 200 ids, the first being BOS.
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected_greedy.json")));
        var expected = json.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        Assert.Equal(200, expected.Length);
        Assert.Equal(1, expected[0]);

        using var model = CausalLm.Load(dir);
        Assert.Equal(5, model.Descriptor.NumLayers);
        var ids = model.GreedyDecode([1], expected.Length - 1);

        int firstDiff = Enumerable.Range(0, expected.Length).FirstOrDefault(i => ids[i] != expected[i], -1);
        Assert.True(firstDiff < 0, $"first mismatch at index {firstDiff}: got {(firstDiff < 0 ? 0 : ids[firstDiff])}, expected {(firstDiff < 0 ? 0 : expected[firstDiff])}");
        Assert.Equal(expected, ids);
    }

    [Fact]
    public void Weights_digest_is_the_sha256_of_model_safetensors()
    {
        var dir = Fixtures.TryGet("stories260K");
        if (dir is null) { output.WriteLine("skipped: fixture stories260K missing (outside CI)"); return; }
        using var model = CausalLm.Load(dir);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(dir, "model.safetensors"))));
        Assert.Equal(expected, model.WeightsDigest);
        Assert.Equal("cpu", model.Device);
        Assert.Equal("float32", model.Dtype);
    }
}
