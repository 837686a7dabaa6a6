using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Checkpoints;

/// <summary>Element types of the safetensors format (https://github.com/huggingface/safetensors).</summary>
public enum SafeTensorDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL, F8_E4M3, F8_E5M2 }

/// <summary>One header entry: where a tensor's bytes lie, relative to the start of the data section.</summary>
public sealed record SafeTensorEntry(string Name, SafeTensorDtype Dtype, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// (<c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {..}}</c>),
/// then the data section, tensors stored row-major and little-endian at their offsets.
/// Reading goes tensor by tensor from an open file handle, so loading a model never holds a
/// second copy of all its weights in managed memory.
/// </summary>
public static class SafeTensors
{
    /// <summary>Headers larger than this are treated as corrupt (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    public static SafeTensorsFile Open(string path) => SafeTensorsFile.Open(path);

    /// <summary>
    /// Writes <paramref name="tensors"/> (row-major float data and shape) to <paramref name="path"/> as
    /// <paramref name="dtype"/> (F32, F16 or BF16; F16/BF16 round to nearest even). Tensors are laid out in
    /// ordinal name order and the header is padded to 8 bytes, so equal inputs give byte-identical files.
    /// The file is written to a temporary name beside <paramref name="path"/> and renamed into place.
    /// </summary>
    public static void Write(string path, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> tensors,
                             SafeTensorDtype dtype = SafeTensorDtype.F32, IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (dtype is not (SafeTensorDtype.F32 or SafeTensorDtype.F16 or SafeTensorDtype.BF16))
            throw new ArgumentException($"SafeTensors.Write supports F32, F16 and BF16, not {dtype}", nameof(dtype));
        int size = ElementSize(dtype);
        var names = tensors.Keys.Order(StringComparer.Ordinal).ToList();

        // Header: __metadata__ first (format "pt", as transformers expects), then the tensors in data order.
        var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteStartObject("__metadata__");
            w.WriteString("format", "pt");
            foreach (var (k, v) in (metadata ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
                if (k != "format") w.WriteString(k, v);
            w.WriteEndObject();
            long offset = 0;
            foreach (var name in names)
            {
                var (data, shape) = tensors[name];
                long count = shape.Aggregate(1L, (a, b) => a * b);
                if (count != data.Length)
                    throw new ArgumentException($"tensor '{name}': shape {Shape(shape)} holds {count} values, data has {data.Length}");
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype.ToString());
                w.WriteStartArray("shape");
                foreach (var d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + count * size);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += count * size;
            }
            w.WriteEndObject();
        }
        // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
        while ((8 + json.Length) % 8 != 0) json.WriteByte((byte)' ');
        var headerBytes = json.ToArray();

        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(path)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)headerBytes.Length);
                f.Write(len);
                f.Write(headerBytes);
                foreach (var name in names) WriteData(f, tensors[name].Data, dtype);
                f.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    private static void WriteData(Stream f, float[] data, SafeTensorDtype dtype)
    {
        const int chunk = 1 << 16;
        var buffer = new byte[chunk * 4];
        for (int start = 0; start < data.Length; start += chunk)
        {
            var part = data.AsSpan(start, Math.Min(chunk, data.Length - start));
            int n = 0;
            foreach (var v in part)
            {
                switch (dtype)
                {
                    case SafeTensorDtype.F32: BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(n), v); n += 4; break;
                    case SafeTensorDtype.F16: BinaryPrimitives.WriteHalfLittleEndian(buffer.AsSpan(n), (Half)v); n += 2; break;
                    default: BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(n), FloatToBf16(v)); n += 2; break;
                }
            }
            f.Write(buffer, 0, n);
        }
    }

    /// <summary>float32 to bfloat16 bits, rounding to nearest even (NaN stays a quiet NaN).</summary>
    public static ushort FloatToBf16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        if (float.IsNaN(v)) return (ushort)((bits >> 16) | 0x40);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    /// <summary>bfloat16 bits to float32 (exact: bfloat16 is the top half of a float32).</summary>
    public static float Bf16ToFloat(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    public static int ElementSize(SafeTensorDtype dtype) => dtype switch
    {
        SafeTensorDtype.F64 or SafeTensorDtype.I64 => 8,
        SafeTensorDtype.F32 or SafeTensorDtype.I32 => 4,
        SafeTensorDtype.F16 or SafeTensorDtype.BF16 or SafeTensorDtype.I16 => 2,
        _ => 1,
    };

    internal static string Shape(IEnumerable<long> shape) => "[" + string.Join(", ", shape) + "]";
}

/// <summary>An open safetensors file: its parsed header, and tensors read one at a time on request.</summary>
public sealed class SafeTensorsFile : IDisposable
{
    private readonly SafeFileHandle _handle;
    private readonly long _dataStart;

    public string Path { get; }
    public IReadOnlyDictionary<string, SafeTensorEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    private SafeTensorsFile(string path, SafeFileHandle handle, long dataStart,
                            Dictionary<string, SafeTensorEntry> entries, Dictionary<string, string> metadata)
    {
        Path = path; _handle = handle; _dataStart = dataStart; Entries = entries; Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        SafeFileHandle handle;
        try { handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read); }
        catch (FileNotFoundException e) { throw new ModelLoadException($"{path}: file not found, expected a safetensors file", e); }
        catch (DirectoryNotFoundException e) { throw new ModelLoadException($"{path}: file not found, expected a safetensors file", e); }
        catch (UnauthorizedAccessException e) { throw new ModelLoadException($"{path}: cannot be read ({e.Message})", e); }
        try { return Parse(path, handle); }
        catch (Exception e) when (e is not ModelLoadException)
        {
            // Anything else the header makes the parser throw (arithmetic overflow, a read cut short) is still a
            // malformed file: one line naming it, never retried.
            handle.Dispose();
            throw new ModelLoadException($"{path}: corrupt safetensors file: {OneLine(e.Message)}", e);
        }
        catch { handle.Dispose(); throw; }
    }

    private static SafeTensorsFile Parse(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new ModelLoadException($"{path}: truncated safetensors file ({fileLength} bytes), expected an 8-byte header length first");
        Span<byte> lenBytes = stackalloc byte[8];
        ReadExactly(handle, lenBytes, 0);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lenBytes);
        if (headerLength == 0 || headerLength > SafeTensors.MaxHeaderBytes)
            throw new ModelLoadException($"{path}: corrupt safetensors header: header length {headerLength}, expected 1..{SafeTensors.MaxHeaderBytes} bytes");
        if (8 + (long)headerLength > fileLength)
            throw new ModelLoadException($"{path}: truncated safetensors file: header claims {headerLength} bytes but the file has {fileLength - 8} after the length");

        var headerBytes = new byte[headerLength];
        ReadExactly(handle, headerBytes, 8);
        // The JSON reader checks structure but leaves string contents to be transcoded later, where invalid UTF-8
        // would surface as an InvalidOperationException naming no file: check the encoding first.
        if (InvalidUtf8Offset(headerBytes) is { } bad)
            throw new ModelLoadException($"{path}: corrupt safetensors header: not valid UTF-8 (byte {8 + bad} of the file)");
        JsonElement root;
        try { root = JsonDocument.Parse(headerBytes).RootElement; }
        catch (JsonException e) { throw new ModelLoadException($"{path}: corrupt safetensors header: not valid JSON ({OneLine(e.Message)})", e); }
        if (root.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException($"{path}: corrupt safetensors header: expected a JSON object, found {root.ValueKind}");

        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;
        var entries = new Dictionary<string, SafeTensorEntry>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (p.Name == "__metadata__")
            {
                if (p.Value.ValueKind != JsonValueKind.Object)
                    throw new ModelLoadException($"{path}: corrupt safetensors header: '__metadata__' must be an object of strings");
                foreach (var m in p.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                continue;
            }
            var entry = ParseEntry(path, p);
            if (entry.End > dataLength)
                throw new ModelLoadException($"{path}: tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] lie outside the data section of {dataLength} bytes (truncated file?)");
            entries[entry.Name] = entry;
        }
        CheckNoOverlap(path, entries.Values);
        return new SafeTensorsFile(path, handle, dataStart, entries, metadata);
    }

    /// <summary>Two tensors sharing bytes mean a corrupt header (the reference reader refuses them too).</summary>
    private static void CheckNoOverlap(string path, IEnumerable<SafeTensorEntry> entries)
    {
        SafeTensorEntry? previous = null;
        foreach (var entry in entries.Where(e => e.End > e.Begin).OrderBy(e => e.Begin))
        {
            if (previous is not null && entry.Begin < previous.End)
                throw new ModelLoadException($"{path}: corrupt safetensors header: tensors '{previous.Name}' [{previous.Begin}, {previous.End}] and '{entry.Name}' [{entry.Begin}, {entry.End}] overlap");
            previous = entry;
        }
    }

    /// <summary>The offset of the first byte that is not part of valid UTF-8, or null when all are.</summary>
    private static int? InvalidUtf8Offset(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes)) return null;
        var status = System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return status == System.Buffers.OperationStatus.Done ? null : read;
    }

    private static readonly Dictionary<string, SafeTensorDtype> DtypesByName =
        Enum.GetValues<SafeTensorDtype>().ToDictionary(d => d.ToString(), StringComparer.Ordinal);

    private static SafeTensorEntry ParseEntry(string path, JsonProperty p)
    {
        string Bad(string what) => $"{path}: corrupt safetensors header: tensor '{p.Name}' {what}";
        var v = p.Value;
        if (v.ValueKind != JsonValueKind.Object) throw new ModelLoadException(Bad("is not an object, expected {dtype, shape, data_offsets}"));
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new ModelLoadException(Bad("has no 'dtype' string"));
        if (!DtypesByName.TryGetValue(dt.GetString()!, out var dtype))
            throw new ModelLoadException($"{path}: tensor '{p.Name}' has unknown dtype '{dt.GetString()}', expected one of {string.Join(", ", Enum.GetNames<SafeTensorDtype>())}");
        if (!v.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array || sh.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long x) || x < 0))
            throw new ModelLoadException(Bad("has no 'shape' array of non-negative integers"));
        var shape = sh.EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (!v.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2
            || off.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long x) || x < 0))
            throw new ModelLoadException(Bad("has no 'data_offsets' pair of non-negative integers"));
        long begin = off[0].GetInt64(), end = off[1].GetInt64();
        var entry = new SafeTensorEntry(p.Name, dtype, shape, begin, end);
        long expectedBytes;
        try { expectedBytes = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * SafeTensors.ElementSize(dtype)); }
        catch (OverflowException) { throw new ModelLoadException(Bad($"has shape {SafeTensors.Shape(shape)}, too large to be stored")); }
        if (end < begin || end - begin != expectedBytes)
            throw new ModelLoadException($"{path}: tensor '{p.Name}' data_offsets [{begin}, {end}] span {end - begin} bytes, expected {expectedBytes} for {dtype} {SafeTensors.Shape(shape)}");
        return entry;
    }

    public bool Contains(string name) => Entries.ContainsKey(name);

    /// <summary>The entry named <paramref name="name"/>, checked against <paramref name="expectedShape"/> when given.</summary>
    public SafeTensorEntry Entry(string name, long[]? expectedShape = null)
    {
        if (!Entries.TryGetValue(name, out var entry))
            throw new ModelLoadException($"{Path}: tensor '{name}' is missing" + (expectedShape is null ? "" : $", expected shape {SafeTensors.Shape(expectedShape)}"));
        if (expectedShape is not null && !entry.Shape.SequenceEqual(expectedShape))
            throw new ModelLoadException($"{Path}: tensor '{name}' has shape {SafeTensors.Shape(entry.Shape)}, expected {SafeTensors.Shape(expectedShape)}");
        return entry;
    }

    /// <summary>The tensor's values as float32 (F32, F16 and BF16 are decoded; other dtypes are rejected).</summary>
    public float[] ReadFloats(string name, long[]? expectedShape = null) => ReadFloats(Entry(name, expectedShape));

    private float[] ReadFloats(SafeTensorEntry entry)
    {
        try { return ReadFloatsUnchecked(entry); }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            // The file changed (was cut) after its header was read.
            throw new ModelLoadException($"{Path}: tensor '{entry.Name}' cannot be read: {OneLine(e.Message)}", e);
        }
    }

    private float[] ReadFloatsUnchecked(SafeTensorEntry entry)
    {
        string name = entry.Name;
        long count = entry.ElementCount;
        if (count > Array.MaxLength)
            throw new ModelLoadException($"{Path}: tensor '{name}' has {count} elements, more than one array can hold");
        var values = new float[count];
        switch (entry.Dtype)
        {
            case SafeTensorDtype.F32:
                ReadExactly(_handle, MemoryMarshal.AsBytes(values.AsSpan()), _dataStart + entry.Begin);
                if (!BitConverter.IsLittleEndian)
                    for (int i = 0; i < values.Length; i++)
                        values[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReverseEndianness(BitConverter.SingleToInt32Bits(values[i])));
                break;
            case SafeTensorDtype.F16:
            case SafeTensorDtype.BF16:
                // Decode in chunks so only one tensor's float32 copy is ever allocated.
                const int chunk = 1 << 16;
                var raw = new byte[chunk * 2];
                for (long start = 0; start < count; start += chunk)
                {
                    int n = (int)Math.Min(chunk, count - start);
                    ReadExactly(_handle, raw.AsSpan(0, n * 2), _dataStart + entry.Begin + start * 2);
                    for (int i = 0; i < n; i++)
                    {
                        ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(raw.AsSpan(i * 2));
                        values[start + i] = entry.Dtype == SafeTensorDtype.F16 ? (float)BitConverter.UInt16BitsToHalf(bits) : SafeTensors.Bf16ToFloat(bits);
                    }
                }
                break;
            default:
                throw new ModelLoadException($"{Path}: tensor '{name}' has dtype {entry.Dtype}, expected F32, F16 or BF16");
        }
        return values;
    }

    /// <summary>
    /// The tensor as a TorchSharp tensor of <paramref name="dtype"/> on <paramref name="device"/>, checked against
    /// <paramref name="expectedShape"/>. The managed float32 copy is released as soon as the tensor exists.
    /// </summary>
    public Tensor Load(string name, long[] expectedShape, ScalarType dtype, Device device)
    {
        var entry = Entry(name, expectedShape);
        var values = ReadFloats(entry);
        using var cpu = torch.tensor(values, entry.Shape, ScalarType.Float32);
        return cpu.to(dtype, device).detach();
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> buffer, long offset)
    {
        while (buffer.Length > 0)
        {
            int n = RandomAccess.Read(handle, buffer, offset);
            if (n <= 0) throw new EndOfStreamException($"unexpected end of file at byte {offset}");
            buffer = buffer[n..];
            offset += n;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    public void Dispose() => _handle.Dispose();
}

/// <summary>
/// A checkpoint's weights across one or more safetensors files (a single model.safetensors or the shards of an
/// index), looked up by tensor name.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    private readonly List<SafeTensorsFile> _files;
    private readonly Dictionary<string, SafeTensorsFile> _byName = new(StringComparer.Ordinal);

    public SafeTensorsCheckpoint(IReadOnlyList<string> paths)
    {
        _files = [];
        try
        {
            foreach (var path in paths)
            {
                var file = SafeTensors.Open(path);
                _files.Add(file);
                foreach (var name in file.Entries.Keys) _byName.TryAdd(name, file);
            }
        }
        catch { Dispose(); throw; }
    }

    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Every tensor name across the files.</summary>
    public IEnumerable<string> Names => _byName.Keys;

    /// <summary>The path of the file holding tensor <paramref name="name"/>.</summary>
    public string FileOf(string name) => _byName[name].Path;

    /// <summary>Loads tensor <paramref name="name"/>; missing and wrong-shaped tensors are one-line <see cref="ModelLoadException"/>s.</summary>
    public Tensor Load(string name, long[] expectedShape, ScalarType dtype, Device device)
    {
        if (_byName.TryGetValue(name, out var file)) return file.Load(name, expectedShape, dtype, device);
        var where = _files.Count == 1 ? _files[0].Path : $"{string.Join(", ", _files.Select(f => System.IO.Path.GetFileName(f.Path)))} in {System.IO.Path.GetDirectoryName(_files[0].Path)}";
        throw new ModelLoadException($"{where}: tensor '{name}' is missing, expected shape {SafeTensors.Shape(expectedShape)}");
    }

    public void Dispose()
    {
        foreach (var f in _files) f.Dispose();
    }
}
