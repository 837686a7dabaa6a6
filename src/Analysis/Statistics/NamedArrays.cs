using System.Text;

namespace Sweep.Analysis.Statistics;

/// <summary>
/// The state of a mergeable statistic as named arrays (float64, int64, int32, strings) and a kind tag, so any
/// partial-file format can carry it: a container stores the arrays by name, the statistic rebuilds itself from them.
/// <para>
/// Binary form (<see cref="Write"/>, <see cref="Read"/>), all integers little-endian: the magic <c>SWNA</c>, format
/// version (int32, 1), the kind (string), the number of arrays (int32), then per array in name order: its type
/// (byte: 1 = float64, 2 = int64, 3 = int32, 4 = string), its name (string), its length (int64) and its elements
/// (IEEE-754 doubles, int64s, int32s, or strings). A string is its UTF-8 byte count (int32) and the bytes.
/// Writing the same state gives the same bytes.
/// </para>
/// </summary>
public sealed class NamedArrays
{
    private const int FormatVersion = 1;
    private static ReadOnlySpan<byte> Magic => "SWNA"u8;

    private readonly SortedDictionary<string, Array> _arrays = new(StringComparer.Ordinal);

    /// <summary>Which statistic the arrays belong to (e.g. <c>label_statistics</c>); checked when the statistic reads them back.</summary>
    public string Kind { get; }

    public NamedArrays(string kind) => Kind = kind;

    public IEnumerable<string> Names => _arrays.Keys;

    public NamedArrays Set(string name, double[] values) => Put(name, values);
    public NamedArrays Set(string name, long[] values) => Put(name, values);
    public NamedArrays Set(string name, int[] values) => Put(name, values);
    public NamedArrays Set(string name, string[] values) => Put(name, values);

    /// <summary>A scalar is an array of one element.</summary>
    public NamedArrays Set(string name, long value) => Put(name, new[] { value });
    public NamedArrays Set(string name, double value) => Put(name, new[] { value });

    public double[] Doubles(string name) => Get<double>(name);
    public long[] Longs(string name) => Get<long>(name);
    public int[] Ints(string name) => Get<int>(name);
    public string[] Strings(string name) => Get<string>(name);
    public long Long(string name) => Single(Longs(name), name);
    public double Double(string name) => Single(Doubles(name), name);

    /// <summary>Throws unless these arrays are of <paramref name="kind"/> (a partial of one statistic read as another's is an error).</summary>
    public NamedArrays Expect(string kind) =>
        Kind == kind ? this : throw new InvalidDataException($"the arrays hold a '{Kind}' state, expected '{kind}'");

    public void Write(Stream stream)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        WriteString(writer, Kind);
        writer.Write(_arrays.Count);
        foreach (var (name, array) in _arrays)
        {
            writer.Write(TypeCode(array));
            WriteString(writer, name);
            writer.Write((long)array.Length);
            switch (array)
            {
                case double[] d: foreach (var v in d) writer.Write(v); break;   // BinaryWriter is little-endian on every platform
                case long[] l: foreach (var v in l) writer.Write(v); break;
                case int[] i: foreach (var v in i) writer.Write(v); break;
                case string[] s: foreach (var v in s) WriteString(writer, v); break;
            }
        }
    }

    public byte[] ToBytes()
    {
        using var memory = new MemoryStream();
        Write(memory);
        return memory.ToArray();
    }

    public static NamedArrays Read(Stream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        try
        {
            if (!reader.ReadBytes(4).AsSpan().SequenceEqual(Magic)) throw new InvalidDataException("not a named-arrays state (bad magic)");
            int version = reader.ReadInt32();
            if (version != FormatVersion) throw new InvalidDataException($"named-arrays format version {version}, expected {FormatVersion}");
            var result = new NamedArrays(ReadString(reader));
            int count = reader.ReadInt32();
            if (count < 0) throw new InvalidDataException($"negative array count {count}");
            for (int a = 0; a < count; a++)
            {
                byte type = reader.ReadByte();
                string name = ReadString(reader);
                long length = reader.ReadInt64();
                if (length < 0 || length > Array.MaxLength) throw new InvalidDataException($"array '{name}' has length {length}");
                int n = (int)length;
                Array array = type switch
                {
                    1 => Fill(new double[n], _ => reader.ReadDouble()),
                    2 => Fill(new long[n], _ => reader.ReadInt64()),
                    3 => Fill(new int[n], _ => reader.ReadInt32()),
                    4 => Fill(new string[n], _ => ReadString(reader)),
                    _ => throw new InvalidDataException($"array '{name}' has unknown type {type}"),
                };
                if (!result._arrays.TryAdd(name, array)) throw new InvalidDataException($"array '{name}' appears twice");
            }
            return result;
        }
        catch (EndOfStreamException e) { throw new InvalidDataException("the named-arrays state is truncated", e); }
    }

    public static NamedArrays FromBytes(byte[] bytes)
    {
        using var memory = new MemoryStream(bytes, writable: false);
        return Read(memory);
    }

    private NamedArrays Put(string name, Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        _arrays[name] = values;
        return this;
    }

    private T[] Get<T>(string name) => _arrays.TryGetValue(name, out var array)
        ? array as T[] ?? throw new InvalidDataException($"array '{name}' of the '{Kind}' state is {array.GetType().GetElementType()!.Name}[], expected {typeof(T).Name}[]")
        : throw new InvalidDataException($"the '{Kind}' state has no array '{name}'");

    private static T Single<T>(T[] values, string name) =>
        values.Length == 1 ? values[0] : throw new InvalidDataException($"'{name}' holds {values.Length} values, expected one");

    private static byte TypeCode(Array array) => array switch
    {
        double[] => 1, long[] => 2, int[] => 3, string[] => 4,
        _ => throw new ArgumentException($"unsupported array type {array.GetType().Name}"),
    };

    private static T[] Fill<T>(T[] array, Func<int, T> next)
    {
        for (int i = 0; i < array.Length; i++) array[i] = next(i);
        return array;
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    private static string ReadString(BinaryReader reader)
    {
        int length = reader.ReadInt32();
        if (length < 0 || length > 1 << 24) throw new InvalidDataException($"string length {length}");
        var bytes = reader.ReadBytes(length);
        if (bytes.Length != length) throw new EndOfStreamException();
        return Encoding.UTF8.GetString(bytes);
    }
}
