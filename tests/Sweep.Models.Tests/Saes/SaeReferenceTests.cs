using System.Diagnostics;
using System.Runtime.InteropServices;
using Sweep.Models.Saes;
using Sweep.Tests.Common;

namespace Sweep.Models.Tests.Saes;

/// <summary>
/// Encodings of random inputs by random-weight SAEs of every supported format agree with an independent float64
/// numpy implementation of the published definitions (References/sae_reference.py, run on the files this test
/// writes). Tolerance: per token, max |sweep - reference| &lt;= 1e-5 x max |reference| of that token's output.
/// </summary>
public sealed class SaeReferenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-sae-ref-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    public static TheoryData<string, SaeArchitecture, int?, SaeNormalization, bool> SaeLensCases => new()
    {
        { "relu", SaeArchitecture.Standard, null, SaeNormalization.None, true },
        { "relu-no-bdec", SaeArchitecture.Standard, null, SaeNormalization.None, false },
        { "relu-norm-rescale", SaeArchitecture.Standard, null, SaeNormalization.ConstantNormRescale, true },
        { "relu-layer-norm", SaeArchitecture.Standard, null, SaeNormalization.LayerNorm, true },
        { "relu-expected-average", SaeArchitecture.Standard, null, SaeNormalization.ExpectedAverageOnlyIn, true },
        { "topk", SaeArchitecture.TopK, 7, SaeNormalization.None, true },
        { "jumprelu", SaeArchitecture.JumpRelu, null, SaeNormalization.None, true },
    };

    [Theory]
    [MemberData(nameof(SaeLensCases))]
    public void SaeLens_encoding_matches_the_numpy_reference(string name, SaeArchitecture arch, int? k, SaeNormalization norm, bool applyBDec)
    {
        var folder = Path.Combine(_dir, name);
        using (var sae = RandomSaes.SaeLens(RandomSaes.Config(arch, k: k, norm: norm, applyBDec: applyBDec), seed: name.Length))
            SaeLensWriter.Save(sae, folder);
        CompareWithReference(folder, dIn: 24, lengths: [5, 9, 1, 13]);
    }

    [Fact]
    public void Sparsify_topk_encoding_matches_the_numpy_reference()
    {
        var folder = Path.Combine(_dir, "sparsify");
        RandomSaes.WriteSparsify(folder, dIn: 16, dSae: 96, k: 5, seed: 3);
        using var sae = SaeLoader.Load(folder);
        Assert.Equal((SaeFormat.Sparsify, SaeArchitecture.TopK, 96, 5), (sae.Config.Format, sae.Config.Architecture, sae.Config.DSae, sae.Config.K));
        CompareWithReference(folder, dIn: 16, lengths: [7, 12]);
    }

    [Theory]
    [InlineData("temporal-relu-tied", "relu", null, true, 1)]
    [InlineData("temporal-topk-untied-2layers", "topk", 6, false, 2)]
    public void Temporal_novel_and_predicted_codes_match_the_numpy_reference(string name, string diffType, int? k, bool tied, int layers)
    {
        var folder = Path.Combine(_dir, name);
        RandomSaes.WriteTemporal(folder, dIn: 16, expFactor: 4, heads: 2, bottleneck: 4, layers: layers, diffType: diffType, k: k, tied: tied, seed: 11);
        using var sae = SaeLoader.Load(folder);
        Assert.Equal(["novel", "pred"], sae.Outputs);
        Assert.Equal(64, sae.Config.DSae);
        CompareWithReference(folder, dIn: 16, lengths: [6, 1, 11]);
    }

    /// <summary>
    /// The published Gemma-2-2B temporal SAE multiplies activations by 0.00666666667 before the SAE. Activations of a
    /// matching magnitude (≈1/c larger than the SAE's own units) must be scaled exactly as the reference does: codes
    /// equal to the numpy reference, reconstruction back in the activations' units; the same weights without the
    /// factor give other codes (so the test would catch a loader that ignored it).
    /// </summary>
    [Theory]
    [InlineData("temporal-scaled-topk", "topk", 6, true)]
    [InlineData("temporal-scaled-relu-untied", "relu", null, false)]
    public void Temporal_codes_with_a_scaling_factor_match_the_numpy_reference(string name, string diffType, int? k, bool tied)
    {
        const double factor = 0.00666666667;
        var folder = Path.Combine(_dir, name);
        RandomSaes.WriteTemporal(folder, dIn: 16, expFactor: 4, heads: 2, bottleneck: 4, layers: 1, diffType: diffType, k: k, tied: tied, seed: 12,
            scalingFactor: factor);
        using (var sae = SaeLoader.Load(folder)) Assert.Equal(factor, sae.Config.ScalingFactor);
        var encoding = CompareWithReference(folder, dIn: 16, lengths: [6, 1, 11], inputScale: 1.5 / factor);

        var unscaled = Path.Combine(_dir, name + "-unscaled");
        Directory.CreateDirectory(unscaled);
        foreach (var file in Directory.GetFiles(folder)) File.Copy(file, Path.Combine(unscaled, Path.GetFileName(file)));
        var conf = Path.Combine(unscaled, "conf.yaml");
        File.WriteAllLines(conf, File.ReadAllLines(conf).Where(l => !l.Contains("scaling_factor", StringComparison.Ordinal)));
        using var wrong = SaeLoader.Load(unscaled);
        var other = wrong.Encode(RandomSaes.Gaussian(new Random(99), 18 * 16, 1.5 / factor), [6, 1, 11]);
        Assert.NotEqual(encoding.Codes["novel"].Indices, other.Codes["novel"].Indices);
    }

    private SaeEncoding CompareWithReference(string folder, int dIn, int[] lengths, double inputScale = 1.5)
    {
        var input = RandomSaes.Gaussian(new Random(99), lengths.Sum() * dIn, inputScale);
        var inputPath = Path.Combine(folder, "..", Path.GetFileName(folder) + ".input.f32");
        File.WriteAllBytes(inputPath, MemoryMarshal.AsBytes(input.AsSpan()).ToArray());
        var outDir = Path.Combine(_dir, Path.GetFileName(folder) + "-reference");
        RunReference(folder, inputPath, string.Join(",", lengths), outDir);

        using var sae = SaeLoader.Load(folder);
        var encoding = sae.Encode(input, lengths);
        foreach (var output in sae.Outputs)
        {
            var expected = ReadF64(Path.Combine(outDir, output + ".f64"));
            var codes = encoding.Codes[output];
            var dense = new double[codes.Rows * codes.Width];
            for (int r = 0; r < codes.Rows; r++)
            {
                var idx = codes.RowIndices(r);
                var val = codes.RowValues(r);
                for (int i = 0; i < idx.Length; i++) dense[r * codes.Width + idx[i]] = val[i];
            }
            AssertClose(expected, dense, codes.Width, $"{Path.GetFileName(folder)} {output}");
            Assert.True(codes.Indices.Length > 0, "some codes should be non-zero");
        }
        AssertClose(ReadF64(Path.Combine(outDir, "recon.f64")), encoding.Reconstruction!.Select(v => (double)v).ToArray(), dIn, "reconstruction");
        return encoding;
    }

    private static void AssertClose(double[] expected, double[] actual, int width, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int r = 0; r < expected.Length / width; r++)
        {
            double scale = 0, diff = 0;
            for (int j = 0; j < width; j++)
            {
                scale = Math.Max(scale, Math.Abs(expected[r * width + j]));
                diff = Math.Max(diff, Math.Abs(expected[r * width + j] - actual[r * width + j]));
            }
            Assert.True(diff <= 1e-5 * scale, $"{what}: token {r} differs by {diff:E3} (scale {scale:E3})");
        }
    }

    private static double[] ReadF64(string path) => MemoryMarshal.Cast<byte, double>(File.ReadAllBytes(path)).ToArray();

    internal static void RunReference(string folder, string input, string lengths, string outDir)
    {
        var script = Path.Combine(Fixtures.RepoRoot, "tests", "Sweep.Models.Tests", "Saes", "References", "sae_reference.py");
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in new[] { script, folder, input, lengths, outDir }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"reference script failed: {stderr.Result}");
    }
}
