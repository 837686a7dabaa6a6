using System.Buffers.Binary;
using System.Text;
using Sweep.Models.Checkpoints;
using TorchSharp;
using Xunit;

namespace Sweep.Models.Tests;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-st-").FullName;
    private string PathOf(string name) => Path.Combine(_dir, name);
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A safetensors file assembled by hand: 8-byte length, header text, data bytes.</summary>
    private string RawFile(string name, string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)h.Length);
        h.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + h.Length);
        var path = PathOf(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static readonly long[] Shape23 = [2, 3];

    [Fact]
    public void Float32_tensors_round_trip_with_shape_values_and_metadata()
    {
        var path = PathOf("model.safetensors");
        var a = new float[] { 1, -2, 3.5f, float.Epsilon, float.MaxValue, -0f };
        var b = new float[] { 42 };
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])> { ["b"] = (b, [1]), ["a"] = (a, Shape23) },
                          metadata: new Dictionary<string, string> { ["note"] = "x" });

        using var file = SafeTensors.Open(path);
        Assert.Equal(["a", "b"], file.Entries.Keys.Order());
        Assert.Equal(Shape23, file.Entries["a"].Shape);
        Assert.Equal(SafeTensorDtype.F32, file.Entries["a"].Dtype);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("x", file.Metadata["note"]);
        Assert.Equal(a, file.ReadFloats("a"));
        Assert.Equal(b, file.ReadFloats("b", [1]));

        using var t = file.Load("a", Shape23, torch.ScalarType.Float32, torch.CPU);
        Assert.Equal(Shape23, t.shape);
        Assert.Equal(a, t.data<float>().ToArray());
        Assert.Equal(0, (8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(File.ReadAllBytes(path).AsSpan(0, 8))) % 8);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void Float16_is_decoded_from_known_bit_patterns()
    {
        // 1.0 = 0x3C00, -2.0 = 0xC000, 65504 (max) = 0x7BFF, 2^-24 (smallest subnormal) = 0x0001, 0.333251953125 = 0x3555
        ushort[] bits = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x3555];
        float[] expected = [1f, -2f, 65504f, MathF.Pow(2, -24), 0.333251953125f];
        var data = bits.SelectMany(b => BitConverter.GetBytes(b)).ToArray();
        var path = RawFile("f16.safetensors", """{"h":{"dtype":"F16","shape":[5],"data_offsets":[0,10]}}""", data);
        using var file = SafeTensors.Open(path);
        Assert.Equal(expected, file.ReadFloats("h"));
    }

    [Fact]
    public void Bfloat16_is_decoded_from_known_bit_patterns()
    {
        // 1.0 = 0x3F80, -2.5 = 0xC020, 3.140625 = 0x4049, 1e-40-ish subnormal 0x0001 = 2^-133, -inf = 0xFF80
        ushort[] bits = [0x3F80, 0xC020, 0x4049, 0x0001, 0xFF80];
        float[] expected = [1f, -2.5f, 3.140625f, MathF.Pow(2, -133), float.NegativeInfinity];
        var data = bits.SelectMany(b => BitConverter.GetBytes(b)).ToArray();
        var path = RawFile("bf16.safetensors", """{"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]}}""", data);
        using var file = SafeTensors.Open(path);
        Assert.Equal(expected, file.ReadFloats("b"));
    }

    [Theory]
    [InlineData(SafeTensorDtype.F16)]
    [InlineData(SafeTensorDtype.BF16)]
    public void Reduced_precision_writes_round_to_nearest_and_read_back(SafeTensorDtype dtype)
    {
        var values = new float[] { 1f, -2.5f, 0.1f, 1000.3f };
        var path = PathOf($"{dtype}.safetensors");
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])> { ["t"] = (values, [4]) }, dtype);
        using var file = SafeTensors.Open(path);
        Assert.Equal(dtype, file.Entries["t"].Dtype);
        var expected = dtype == SafeTensorDtype.F16
            ? values.Select(v => (float)(Half)v).ToArray()
            : values.Select(v => SafeTensors.Bf16ToFloat(SafeTensors.FloatToBf16(v))).ToArray();
        Assert.Equal(expected, file.ReadFloats("t"));
        Assert.Equal(0x3DCD, SafeTensors.FloatToBf16(0.1f));   // 0x3DCCCCCD rounds up
        using var t = file.Load("t", [4], torch.ScalarType.Float32, torch.CPU);
        Assert.Equal(expected, t.data<float>().ToArray());
    }

    [Fact]
    public void A_truncated_file_names_the_file_and_the_tensor_beyond_the_end()
    {
        var path = PathOf("model.safetensors");
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])> { ["w"] = (new float[16], [4, 4]) });
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Single(e.Message.Split('\n'));
        Assert.StartsWith(path + ": tensor 'w' data_offsets [0, 64] lie outside the data section of 60 bytes", e.Message);

        File.WriteAllBytes(path, bytes[..20]);   // cut inside the header
        e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.StartsWith(path + ": truncated safetensors file: header claims", e.Message);

        File.WriteAllBytes(path, bytes[..5]);    // not even the length
        e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.StartsWith(path + ": truncated safetensors file (5 bytes)", e.Message);
    }

    [Fact]
    public void A_corrupt_json_header_is_one_line_naming_the_file()
    {
        var path = RawFile("bad.safetensors", "{\"w\": {\"dtype\": \"F32\",\n oops", new byte[8]);
        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Single(e.Message.Split('\n'));
        Assert.StartsWith(path + ": corrupt safetensors header: not valid JSON", e.Message);

        var huge = PathOf("huge.safetensors");
        File.WriteAllBytes(huge, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'{']);
        e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(huge));
        Assert.StartsWith(huge + ": corrupt safetensors header: header length", e.Message);
    }

    [Fact]
    public void Invalid_utf8_in_a_real_header_is_one_line_naming_the_file_and_the_byte()
    {
        var path = PathOf("model.safetensors");
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])> { ["model.norm.weight"] = (new float[4], [4]) });
        var bytes = File.ReadAllBytes(path);
        int name = Encoding.ASCII.GetString(bytes).IndexOf("model.norm", StringComparison.Ordinal);
        bytes[name + 2] = 0xC3;   // a UTF-8 lead byte followed by ASCII: invalid inside the tensor name
        File.WriteAllBytes(path, bytes);

        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Equal($"{path}: corrupt safetensors header: not valid UTF-8 (byte {name + 2} of the file)", e.Message);
    }

    [Fact]
    public void Overlapping_tensors_and_impossible_shapes_are_corrupt_headers()
    {
        var path = RawFile("overlap.safetensors",
            """{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", new byte[12]);
        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Equal($"{path}: corrupt safetensors header: tensors 'a' [0, 8] and 'b' [4, 12] overlap", e.Message);

        path = RawFile("huge-shape.safetensors",
            """{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}""", new byte[8]);
        e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Equal($"{path}: corrupt safetensors header: tensor 'w' has shape [4294967296, 4294967296], too large to be stored", e.Message);
    }

    [Fact]
    public void A_file_cut_after_its_header_was_read_names_the_file_and_tensor()
    {
        var path = PathOf("model.safetensors");
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])> { ["w"] = (new float[16], [4, 4]) });
        using var file = SafeTensors.Open(path);
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) stream.SetLength(stream.Length - 8);
        var e = Assert.Throws<ModelLoadException>(() => file.ReadFloats("w"));
        Assert.StartsWith($"{path}: tensor 'w' cannot be read: ", e.Message);
        Assert.Single(e.Message.Split('\n'));
    }

    [Fact]
    public void Unknown_dtype_and_inconsistent_offsets_are_rejected()
    {
        var path = RawFile("dtype.safetensors", """{"w":{"dtype":"F13","shape":[2],"data_offsets":[0,8]}}""", new byte[8]);
        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.StartsWith(path + ": tensor 'w' has unknown dtype 'F13', expected one of F64, F32, F16, BF16", e.Message);

        path = RawFile("offsets.safetensors", """{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}""", new byte[8]);
        e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Equal(path + ": tensor 'w' data_offsets [0, 8] span 8 bytes, expected 12 for F32 [3]", e.Message);

        path = RawFile("int.safetensors", """{"w":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}""", new byte[8]);
        using var file = SafeTensors.Open(path);
        e = Assert.Throws<ModelLoadException>(() => file.ReadFloats("w"));
        Assert.Equal(path + ": tensor 'w' has dtype I64, expected F32, F16 or BF16", e.Message);
    }

    [Fact]
    public void A_wrong_shape_or_missing_tensor_names_file_tensor_and_expectation()
    {
        var path = PathOf("model.safetensors");
        SafeTensors.Write(path, new Dictionary<string, (float[], long[])>
        {
            ["model.layers.0.self_attn.q_proj.weight"] = (new float[64 * 32], [64, 32]),
        });
        using var checkpoint = new SafeTensorsCheckpoint([path]);
        var e = Assert.Throws<ModelLoadException>(() =>
            checkpoint.Load("model.layers.0.self_attn.q_proj.weight", [64, 64], torch.ScalarType.Float32, torch.CPU));
        Assert.Equal($"{path}: tensor 'model.layers.0.self_attn.q_proj.weight' has shape [64, 32], expected [64, 64]", e.Message);

        e = Assert.Throws<ModelLoadException>(() => checkpoint.Load("model.norm.weight", [64], torch.ScalarType.Float32, torch.CPU));
        Assert.Equal($"{path}: tensor 'model.norm.weight' is missing, expected shape [64]", e.Message);
    }

    [Fact]
    public void A_missing_file_is_a_model_load_exception()
    {
        var path = PathOf("absent.safetensors");
        var e = Assert.Throws<ModelLoadException>(() => SafeTensors.Open(path));
        Assert.Equal($"{path}: file not found, expected a safetensors file", e.Message);
    }
}
