using System.Runtime.InteropServices;
using System.Text;

namespace Sweep.Analysis.Features;

/// <summary>
/// The state of a mergeable statistic as named arrays — <c>double[]</c>, <c>long[]</c>, <c>int[]</c>, <c>float[]</c>
/// (a scalar is an array of one) — so it drops into any partial-file format. <see cref="Write"/> gives a plain binary
/// layout of its own, little-endian:
/// <code>
/// "SWPS" · u16 layout version (1) · str kind · i32 entry count
/// per entry, in name order: str name · u8 type (1 f64, 2 i64, 3 i32, 4 f32) · i64 length · length values
/// str = i32 UTF-8 byte count + bytes
/// </code>
/// The same state gives the same bytes. Integrity (checksums) belongs to the file that holds it.
/// </summary>
public sealed class PartialState
{
    private static ReadOnlySpan<byte> Magic => "SWPS"u8;
    private const ushort LayoutVersion = 1;

    private readonly SortedDictionary<string, Array> _arrays = new(StringComparer.Ordinal);

    /// <summary>What the state is of, e.g. <c>feature_statistics/1</c>; a reader refuses another kind.</summary>
    public string Kind { get; }

    public PartialState(string kind) => Kind = kind;

    public IReadOnlyCollection<string> Names => _arrays.Keys;

    public PartialState Set(string name, double[] values) => Put(name, values);
    public PartialState Set(string name, long[] values) => Put(name, values);
    public PartialState Set(string name, int[] values) => Put(name, values);
    public PartialState Set(string name, float[] values) => Put(name, values);
    public PartialState SetScalar(string name, long value) => Put(name, new[] { value });
    public PartialState SetScalar(string name, double value) => Put(name, new[] { value });

    public double[] Doubles(string name) => Get<double>(name);
    public long[] Longs(string name) => Get<long>(name);
    public int[] Ints(string name) => Get<int>(name);
    public float[] Floats(string name) => Get<float>(name);

    public long Long(string name) => Single(Longs(name), name);
    public double Double(string name) => Single(Doubles(name), name);

    /// <summary>Copies every entry of <paramref name="part"/> into this state under <paramref name="prefix"/> (a composite partial).</summary>
    public PartialState Embed(string prefix, PartialState part)
    {
        foreach (var (name, values) in part._arrays) Put(prefix + name, values);
        return this;
    }

    /// <summary>The entries under <paramref name="prefix"/>, without it, as a state of <paramref name="kind"/>.</summary>
    public PartialState Part(string prefix, string kind)
    {
        var part = new PartialState(kind);
        foreach (var (name, values) in _arrays.Where(e => e.Key.StartsWith(prefix, StringComparison.Ordinal)))
            part.Put(name[prefix.Length..], values);
        return part;
    }

    public bool HasPart(string prefix) => _arrays.Keys.Any(n => n.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Throws unless the state is of <paramref name="kind"/>.</summary>
    public PartialState Expect(string kind) =>
        Kind == kind ? this : throw new InvalidDataException($"partial state is of kind '{Kind}', expected '{kind}'");

    private PartialState Put(string name, Array values)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("a state entry needs a name");
        _arrays[name] = values;
        return this;
    }

    private T[] Get<T>(string name)
    {
        if (!_arrays.TryGetValue(name, out var values)) throw new InvalidDataException($"partial state '{Kind}' has no entry '{name}'");
        return values as T[] ?? throw new InvalidDataException($"partial state '{Kind}' entry '{name}' holds {values.GetType().GetElementType()!.Name}, expected {typeof(T).Name}");
    }

    private static T Single<T>(T[] values, string name) =>
        values.Length == 1 ? values[0] : throw new InvalidDataException($"partial state entry '{name}' has {values.Length} values, expected one");

    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(LayoutVersion);
        WriteString(writer, Kind);
        writer.Write(_arrays.Count);
        foreach (var (name, values) in _arrays)
        {
            WriteString(writer, name);
            byte type = values switch
            {
                double[] => 1, long[] => 2, int[] => 3, float[] => 4,
                _ => throw new InvalidOperationException($"entry '{name}' has an unsupported type"),
            };
            writer.Write(type);
            writer.Write((long)values.Length);
            if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("partial states are written little-endian");
            writer.Write(values switch
            {
                double[] d => MemoryMarshal.AsBytes(d.AsSpan()),
                long[] l => MemoryMarshal.AsBytes(l.AsSpan()),
                int[] i => MemoryMarshal.AsBytes(i.AsSpan()),
                _ => MemoryMarshal.AsBytes(((float[])values).AsSpan()),
            });
        }
    }

    public byte[] ToBytes()
    {
        using var memory = new MemoryStream();
        Write(memory);
        return memory.ToArray();
    }

    public static PartialState Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        Span<byte> magic = stackalloc byte[4];
        if (reader.Read(magic) != 4 || !magic.SequenceEqual(Magic)) throw new InvalidDataException("not a Sweep partial state (magic 'SWPS' missing)");
        var version = reader.ReadUInt16();
        if (version != LayoutVersion) throw new InvalidDataException($"partial state layout version {version}, expected {LayoutVersion}");
        var state = new PartialState(ReadString(reader));
        int count = reader.ReadInt32();
        for (int e = 0; e < count; e++)
        {
            var name = ReadString(reader);
            byte type = reader.ReadByte();
            long length = reader.ReadInt64();
            if (length < 0 || length > Array.MaxLength) throw new InvalidDataException($"entry '{name}' claims {length} values");
            Array values = type switch
            {
                1 => ReadValues<double>(reader, length),
                2 => ReadValues<long>(reader, length),
                3 => ReadValues<int>(reader, length),
                4 => ReadValues<float>(reader, length),
                _ => throw new InvalidDataException($"entry '{name}' has unknown type {type}"),
            };
            state._arrays[name] = values;
        }
        return state;
    }

    public static PartialState FromBytes(byte[] bytes)
    {
        using var memory = new MemoryStream(bytes, writable: false);
        return Read(memory);
    }

    private static T[] ReadValues<T>(BinaryReader reader, long length) where T : unmanaged
    {
        var values = new T[length];
        var bytes = MemoryMarshal.AsBytes(values.AsSpan());
        if (reader.BaseStream.Read(bytes) is var n && n != bytes.Length)
        {
            // Streams may return fewer bytes than asked; keep reading until the entry is whole.
            while (n < bytes.Length)
            {
                int more = reader.BaseStream.Read(bytes[n..]);
                if (more == 0) throw new InvalidDataException("partial state ends inside an entry");
                n += more;
            }
        }
        return values;
    }

    private static void WriteString(BinaryWriter writer, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static string ReadString(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length is < 0 or > 1 << 20) throw new InvalidDataException($"partial state string of {length} bytes");
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length) throw new InvalidDataException("partial state ends inside a string");
        return Encoding.UTF8.GetString(bytes);
    }
}
