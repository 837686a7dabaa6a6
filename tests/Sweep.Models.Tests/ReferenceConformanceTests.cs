using System.Diagnostics;
using System.Text.Json;
using Sweep.Models.Checkpoints;
using Sweep.Tests.Common;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>
/// Every family against an independent float64 numpy forward pass (References/reference_forward.py, written from
/// the published definitions and run by the test with Debian's /usr/bin/python3 on the checkpoint the test writes):
/// logits and every hook point, for every real token of sequences captured together in a right-padded batch, and the
/// capturable outputs logits and log_probs_next (every position that has a next token).
/// </summary>
public sealed class ReferenceConformanceTests
{
    private const double Tolerance = 1e-4;
    private static readonly int[][] Sequences = [[5, 17, 3, 60, 2, 9, 33, 41, 8, 12, 1], [7, 7, 63, 0], [30, 22, 14, 5, 9, 50, 44]];

    /// <summary>Runs the reference script; returns "{i}/{hook}" and "{i}/logits" tensors.</summary>
    internal static Dictionary<string, float[]> Reference(string modelDir, int[][] sequences)
    {
        var tokens = Path.Combine(modelDir, "tokens.json");
        var output = Path.Combine(modelDir, "reference.safetensors");
        File.WriteAllText(tokens, JsonSerializer.Serialize(sequences));
        var script = Path.Combine(Fixtures.RepoRoot, "tests", "Sweep.Models.Tests", "References", "reference_forward.py");
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 not found: install Debian's python3-numpy and python3-scipy (scripts/install.sh does)");
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in new[] { script, modelDir, tokens, output }) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"reference_forward.py failed: {stderr.Result}");
        using var file = SafeTensors.Open(output);
        return file.Entries.Keys.ToDictionary(k => k, k => file.ReadFloats(k));
    }

    /// <summary>|actual - expected| within tolerance x max(|expected|, rms(expected)) elementwise.</summary>
    internal static void AssertClose(float[] expected, ReadOnlySpan<float> actual, string what, double tolerance = Tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        double rms = Math.Sqrt(expected.Average(v => (double)v * v));
        for (int i = 0; i < expected.Length; i++)
        {
            double bound = tolerance * Math.Max(Math.Abs(expected[i]), rms);
            if (!(Math.Abs(actual[i] - expected[i]) <= bound))
                Assert.Fail($"{what}: value {i} is {actual[i]}, reference {expected[i]} (allowed {bound:g3})");
        }
    }

    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt2-bare")]
    [InlineData("gpt_neox")]
    [InlineData("gpt_neox-sequential")]
    [InlineData("llama")]
    [InlineData("mistral")]
    [InlineData("gemma2")]
    public void Logits_and_every_hook_point_match_the_numpy_reference(string family)
    {
        using var checkpoint = TinyCheckpoint.Write(family);
        var reference = Reference(checkpoint.Directory, Sequences);
        using var model = CausalLm.Load(checkpoint.Directory);
        int width = model.Descriptor.HiddenSize;

        var sites = model.Descriptor.HookPoints;
        Assert.Equal(sites.Order(StringComparer.Ordinal), reference.Keys.Where(k => k.StartsWith("0/")).Select(k => k[2..]).Order(StringComparer.Ordinal));
        var captured = model.Capture(Sequences, sites, batchSize: 3);
        foreach (var site in sites)
        {
            int row = 0, siteWidth = model.Descriptor.WidthOf(site);
            Assert.Equal(site == Hooks.HookPoints.Logits ? model.Descriptor.Config.VocabSize : site == Hooks.HookPoints.LogProbsNext ? 1 : width, siteWidth);
            for (int s = 0; s < Sequences.Length; s++)
            {
                int n = Sequences[s].Length - (site == Hooks.HookPoints.LogProbsNext ? 1 : 0);
                AssertClose(reference[$"{s}/{site}"], captured[site].Values.AsSpan(row * siteWidth, n * siteWidth), $"{family} sequence {s} {site}");
                row += n;
            }
            Assert.Equal(row * siteWidth, captured[site].Values.Length);
        }

        int vocab = model.Descriptor.Config.VocabSize;
        for (int s = 0; s < Sequences.Length; s++)
            for (int t = 1; t <= Sequences[s].Length; t += 3)
                AssertClose(reference[$"{s}/logits"][((t - 1) * vocab)..(t * vocab)], model.Logits(Sequences[s][..t]), $"{family} sequence {s} logits at position {t - 1}");
    }

    [Theory]
    [InlineData(SafeTensorDtype.BF16)]
    [InlineData(SafeTensorDtype.F16)]
    public void Reduced_precision_checkpoints_are_widened_to_the_values_they_store(SafeTensorDtype dtype)
    {
        // The reference decodes the half-precision bits itself; the model computes in float32 from the same values.
        using var checkpoint = TinyCheckpoint.Write("gemma2", seed: 3, dtype);
        using (var file = SafeTensors.Open(Path.Combine(checkpoint.Directory, "model.safetensors")))
            Assert.All(file.Entries.Values, e => Assert.Equal(dtype, e.Dtype));
        var reference = Reference(checkpoint.Directory, Sequences[..1]);
        using var model = CausalLm.Load(checkpoint.Directory);
        var site = Hooks.HookPoints.ResidPost(2);
        AssertClose(reference[$"0/{site}"], model.Capture(Sequences[..1], [site], 1)[site].Values, $"{dtype} {site}");
        int t = Sequences[0].Length, vocab = model.Descriptor.Config.VocabSize;
        AssertClose(reference["0/logits"][((t - 1) * vocab)..], model.Logits(Sequences[0]), $"{dtype} logits");
    }
}
