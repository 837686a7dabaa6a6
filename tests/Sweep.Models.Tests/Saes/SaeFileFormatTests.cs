using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;
using Sweep.Models.Saes;
using Sweep.Tests.Common;

namespace Sweep.Models.Tests.Saes;

/// <summary>
/// SAEs as researchers download or save them, written by independent writers (numpy's own np.savez for Gemma Scope's
/// params.npz, PyTorch's torch.save for .pt state dicts; References/write_sae_files.py run by Debian's python3): each
/// encodes to exactly the codes of the SAELens folder holding the same weights.
/// </summary>
public sealed class SaeFileFormatTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-sae-formats-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed record TensorSpec(string Name, float[] Values, long[] Shape, string Dtype = "float32", string Layout = "c");

    // ---------------------------------------------------------------- Gemma Scope params.npz

    [Theory]
    [InlineData("npz", "float32", "W_enc", "gemma-scope-2b-pt-res", "blocks.3.hook_resid_post", "gemma-2-2b")]
    [InlineData("npz_compressed", "float16", "w_enc", "gemma-scope-9b-it-mlp", "blocks.3.hook_mlp_out", "gemma-2-9b-it")]
    public void Gemma_Scope_params_npz_encodes_to_the_same_codes_as_the_equivalent_SAELens_folder(
        string format, string dtype, string encoderName, string release, string hook, string model)
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.JumpRelu, applyBDec: false) with { HookName = hook, ModelName = model, NeuronpediaId = null }, seed: 21);
        if (dtype == "float16") RoundToHalf(sae);
        var file = Path.Combine(_dir, release, "layer_3", "width_16k", "average_l0_5", "params.npz");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        WriteWithPython(format, file, [
            new(encoderName, sae.WEnc, [24, 64], dtype),
            new("W_dec", sae.WDec, [64, 24], dtype, Layout: "transposed"),   // saved in Fortran order
            new("b_enc", sae.BEnc, [64], dtype),
            new("b_dec", sae.BDec, [24], dtype),
            new("threshold", sae.Threshold!, [64], dtype)]);

        var folder = SaeLoader.Describe(Path.GetDirectoryName(file)!);
        var c = folder.Config;
        Assert.Equal((SaeFormat.GemmaScope, SaeArchitecture.JumpRelu, 24, 64, false, hook, model, dtype),
            (c.Format, c.Architecture, c.DIn, c.DSae, c.ApplyBDecToInput, c.HookName, c.ModelName, c.Dtype));
        var saeLens = Path.Combine(_dir, "saelens");
        SaeLensWriter.Save(sae, saeLens);
        AssertSameCodes(saeLens, folder, dIn: 24);
    }

    [Fact]
    public void A_params_npz_outside_a_release_folder_names_no_hook_so_the_job_site_decides()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.JumpRelu, applyBDec: false), seed: 3);
        var file = Path.Combine(_dir, "my-saes", "layer_3", "params.npz");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        WriteWithPython("npz", file, GemmaScopeTensors(sae));
        var config = SaeLoader.Describe(file).Config;
        Assert.Equal((SaeFormat.GemmaScope, (string?)null, (string?)null), (config.Format, config.HookName, config.ModelName));
    }

    [Theory]
    [InlineData("float64", "dtype float64 ('<f8'), expected float32 ('<f4') or float16 ('<f2')")]
    [InlineData("int64", "dtype '<i8', expected float32 ('<f4') or float16 ('<f2')")]
    public void Npz_arrays_that_are_not_float32_or_float16_are_refused_naming_the_file_and_array(string dtype, string message)
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.JumpRelu, applyBDec: false), seed: 3);
        var file = Path.Combine(_dir, "params.npz");
        var tensors = GemmaScopeTensors(sae);
        tensors[0] = tensors[0] with { Dtype = dtype };
        WriteWithPython("npz", file, tensors);
        var e = Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(_dir));
        Assert.StartsWith($"{file}: array 'W_enc': ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Gemma_Scope_attention_and_embedding_saes_are_refused_by_name()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.JumpRelu, applyBDec: false), seed: 3);
        var att = Path.Combine(_dir, "gemma-scope-2b-pt-att", "layer_3", "width_16k", "average_l0_5", "params.npz");
        var embedding = Path.Combine(_dir, "gemma-scope-2b-pt-res", "embedding", "width_4k", "average_l0_6", "params.npz");
        foreach (var file in new[] { att, embedding })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            WriteWithPython("npz", file, GemmaScopeTensors(sae));
        }
        Assert.Contains("hook_z", Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(att)).Message);
        Assert.Contains("embedding SAEs are not supported", Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(embedding)).Message);
    }

    // ---------------------------------------------------------------- PyTorch .pt state dicts

    public static TheoryData<string> PyTorchCases => new()
    {
        "saelens-names-topk-with-cfg-json",
        "saelens-names-jumprelu-nested-views-from-the-job",
        "linear-names-relu-b_dec-bfloat16-from-the-job",
        "linear-names-topk-decoder-bias-nested-from-the-job",
    };

    [Theory]
    [MemberData(nameof(PyTorchCases))]
    public void PyTorch_state_dicts_encode_to_the_same_codes_as_the_equivalent_SAELens_folder(string name)
    {
        const int dIn = 24, dSae = 64;
        var folder = Path.Combine(_dir, name);
        Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "sae.pt");
        SaeJobSettings? job = null;
        SparseAutoencoder sae;
        switch (name)
        {
            case "saelens-names-topk-with-cfg-json":
                sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.TopK, k: 5, applyBDec: false), seed: 31);
                SaeLensWriter.Save(sae, Path.Combine(_dir, "cfg-source"));
                File.Copy(Path.Combine(_dir, "cfg-source", "cfg.json"), Path.Combine(folder, "cfg.json"));
                WriteWithPython("pt", file, SaeLensTensors(sae));
                break;
            case "saelens-names-jumprelu-nested-views-from-the-job":
                sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.JumpRelu) with { HookName = null, ModelName = null, NeuronpediaId = null }, seed: 32);
                var tensors = SaeLensTensors(sae);
                tensors[0] = tensors[0] with { Layout = "transposed" };   // W_enc saved as a transposed view
                tensors[3] = tensors[3] with { Layout = "slice" };        // b_dec saved as a row of a larger tensor
                WriteWithPython("pt", file, tensors, nest: "state_dict", extra: new() { ["step"] = 7 });
                job = new SaeJobSettings(SaeArchitecture.JumpRelu, ApplyBDecToInput: true);
                break;
            case "linear-names-relu-b_dec-bfloat16-from-the-job":
                sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard) with { HookName = null, ModelName = null, NeuronpediaId = null, Dtype = "bfloat16" }, seed: 33);
                RoundToBf16(sae);
                WriteWithPython("pt", file, [
                    new("encoder.weight", Transpose(sae.WEnc, dIn, dSae), [dSae, dIn], "bfloat16"),
                    new("encoder.bias", sae.BEnc, [dSae], "bfloat16", Layout: "slice"),
                    new("decoder.weight", Transpose(sae.WDec, dSae, dIn), [dIn, dSae], "bfloat16"),
                    new("b_dec", sae.BDec, [dIn], "bfloat16")]);
                job = new SaeJobSettings(SaeArchitecture.Standard);
                break;
            default:
                sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.TopK, k: 4, applyBDec: false) with { HookName = null, ModelName = null, NeuronpediaId = null }, seed: 34);
                WriteWithPython("pt", file, [
                    new("encoder.weight", Transpose(sae.WEnc, dIn, dSae), [dSae, dIn]),
                    new("encoder.bias", sae.BEnc, [dSae]),
                    new("decoder.weight", Transpose(sae.WDec, dSae, dIn), [dIn, dSae], Layout: "transposed"),
                    new("decoder.bias", sae.BDec, [dIn])], nest: "sae", extra: new() { ["iter"] = 1000 });
                job = new SaeJobSettings(SaeArchitecture.TopK, K: 4);
                break;
        }
        using (sae)
        {
            var described = SaeLoader.Describe(folder, job);
            Assert.Equal(sae.Config with { Format = SaeFormat.PyTorch }, described.Config);
            var saeLens = Path.Combine(_dir, name + "-saelens");
            SaeLensWriter.Save(sae, saeLens);
            AssertSameCodes(saeLens, described, dIn);
        }
    }

    [Fact]
    public void The_jobs_settings_are_part_of_the_digest_of_a_bare_state_dict()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.TopK, k: 5), seed: 35);
        var file = Path.Combine(_dir, "sae.pt");
        WriteWithPython("pt", file, SaeLensTensors(sae));
        var k5 = SaeLoader.Describe(file, new SaeJobSettings(SaeArchitecture.TopK, 5, true)).ComputeDigest();
        var k6 = SaeLoader.Describe(file, new SaeJobSettings(SaeArchitecture.TopK, 6, true)).ComputeDigest();
        Assert.NotEqual(k5, k6);
        Assert.Equal(k5, SaeLoader.Describe(file, new SaeJobSettings(SaeArchitecture.TopK, 5, true)).ComputeDigest());
    }

    [Fact]
    public void Bare_state_dicts_are_refused_with_what_is_missing_or_wrong()
    {
        using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard), seed: 36);
        var file = Path.Combine(_dir, "sae.pt");
        WriteWithPython("pt", file, SaeLensTensors(sae));
        string Refusal(SaeJobSettings? job) => Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(file, job)).Message;
        Assert.Contains("does not record its architecture", Refusal(null));
        Assert.Contains("expected the job to give apply_b_dec_to_input", Refusal(new SaeJobSettings(SaeArchitecture.Standard)));
        Assert.Contains("a TopK SAE needs k", Refusal(new SaeJobSettings(SaeArchitecture.TopK, ApplyBDecToInput: true)));
        Assert.Contains("needs tensor 'threshold'", Refusal(new SaeJobSettings(SaeArchitecture.JumpRelu, ApplyBDecToInput: true)));

        var extra = Path.Combine(_dir, "extra.pt");
        WriteWithPython("pt", extra, [.. SaeLensTensors(sae), new("num_batches_tracked", [3f], [1], "int64")]);
        Assert.Contains("tensor 'num_batches_tracked' is int64, expected float32, float16 or bfloat16",
            Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(extra, new SaeJobSettings(SaeArchitecture.Standard, ApplyBDecToInput: true))).Message);

        var legacy = Path.Combine(_dir, "legacy.pt");
        WriteWithPython("pt_legacy", legacy, SaeLensTensors(sae));
        Assert.StartsWith($"{legacy}: not a zip-format PyTorch checkpoint",
            Assert.Throws<SaeLoadException>(() => SaeLoader.Describe(legacy, new SaeJobSettings(SaeArchitecture.Standard, ApplyBDecToInput: true))).Message);
    }

    // ---------------------------------------------------------------- helpers

    private static List<TensorSpec> SaeLensTensors(SparseAutoencoder sae)
    {
        int dIn = sae.Config.DIn, dSae = sae.Config.DSae;
        var list = new List<TensorSpec>
        {
            new("W_enc", sae.WEnc, [dIn, dSae]), new("W_dec", sae.WDec, [dSae, dIn]), new("b_enc", sae.BEnc, [dSae]), new("b_dec", sae.BDec, [dIn]),
        };
        if (sae.Threshold is { } t) list.Add(new("threshold", t, [dSae]));
        return list;
    }

    private static List<TensorSpec> GemmaScopeTensors(SparseAutoencoder sae) => SaeLensTensors(sae);

    /// <summary>Both SAEs encode the same random tokens to identical codes and reconstructions, bit for bit.</summary>
    private static void AssertSameCodes(string saeLensFolder, SaeLoader.SaeFolder other, int dIn)
    {
        var x = RandomSaes.Gaussian(new Random(17), 40 * dIn, 1.5);
        using var expected = SaeLoader.Load(saeLensFolder);
        using var actual = SaeLoader.Load(other);
        var a = expected.Encode(x, [40]);
        var b = actual.Encode(x, [40]);
        Assert.True(a.Codes["codes"].Indices.Length > 40, "codes should not be all zero");
        Assert.Equal(a.Codes["codes"].Offsets, b.Codes["codes"].Offsets);
        Assert.Equal(a.Codes["codes"].Indices, b.Codes["codes"].Indices);
        Assert.Equal(a.Codes["codes"].Values, b.Codes["codes"].Values);
        Assert.Equal(a.Reconstruction!, b.Reconstruction!);
    }

    private static float[] Transpose(float[] source, int rows, int cols)
    {
        var result = new float[source.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                result[c * rows + r] = source[r * cols + c];
        return result;
    }

    private static void RoundToHalf(SparseAutoencoder sae)
    {
        foreach (var a in new[] { sae.WEnc, sae.BEnc, sae.WDec, sae.BDec, sae.Threshold! })
            for (int i = 0; i < a.Length; i++) a[i] = (float)(Half)a[i];
    }

    private static void RoundToBf16(SparseAutoencoder sae)
    {
        foreach (var a in new[] { sae.WEnc, sae.BEnc, sae.WDec, sae.BDec })
            for (int i = 0; i < a.Length; i++) a[i] = Checkpoints.SafeTensors.Bf16ToFloat(Checkpoints.SafeTensors.FloatToBf16(a[i]));
    }

    /// <summary>Runs References/write_sae_files.py: the tensors go over as raw float32 files and a JSON manifest.</summary>
    private void WriteWithPython(string format, string output, List<TensorSpec> tensors, string? nest = null, Dictionary<string, int>? extra = null)
    {
        var work = Directory.CreateTempSubdirectory("tensors-").FullName;
        try
        {
            var specs = tensors.Select((t, i) =>
            {
                var raw = Path.Combine(work, $"{i}.f32");
                File.WriteAllBytes(raw, MemoryMarshal.AsBytes(t.Values.AsSpan()).ToArray());
                return new Dictionary<string, object> { ["name"] = t.Name, ["file"] = raw, ["shape"] = t.Shape, ["dtype"] = t.Dtype, ["layout"] = t.Layout };
            }).ToList();
            var manifest = Path.Combine(work, "manifest.json");
            File.WriteAllText(manifest, JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["format"] = format, ["out"] = output, ["nest"] = nest, ["extra"] = extra, ["tensors"] = specs,
            }));
            var script = Path.Combine(Fixtures.RepoRoot, "tests", "Sweep.Models.Tests", "Saes", "References", "write_sae_files.py");
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardError = true, RedirectStandardOutput = true };
            start.ArgumentList.Add(script);
            start.ArgumentList.Add(manifest);
            using var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0,
                $"write_sae_files.py failed (numpy and PyTorch come from Debian's python3-numpy and python3-torch: run scripts/install.sh): {stderr.Result}");
        }
        finally { Directory.Delete(work, recursive: true); }
    }
}
