using System.Runtime.InteropServices;
using System.Text;

namespace Sweep.Analysis.Measures;

/// <summary>
/// Writes a partial as named, typed sections onto a stream the caller owns (the pipeline wraps it in a partial file:
/// docs/partials.md). A section is: u8 type, name (7-bit length-prefixed UTF-8), then for a scalar its 8 little-endian
/// bytes ('l' int64, 'd' float64), for an array an int64 element count and the elements, little-endian
/// ('I' int32, 'L' int64, 'F' float32, 'D' float64), for a list of texts ('T') an int64 count and each text
/// (7-bit length-prefixed UTF-8). Large arrays may be written in several appends.
/// </summary>
public sealed class PartialWriter(Stream stream)
{
    private readonly BinaryWriter _writer = new(stream, Encoding.UTF8, leaveOpen: true);
    private long _pending;

    public void Write(string name, long value) { Header('l', name); _writer.Write(value); }
    public void Write(string name, double value) { Header('d', name); _writer.Write(value); }
    public void Write(string name, ReadOnlySpan<int> values) { BeginArray<int>(name, values.Length); Append(values); }
    public void Write(string name, ReadOnlySpan<long> values) { BeginArray<long>(name, values.Length); Append(values); }
    public void Write(string name, ReadOnlySpan<float> values) { BeginArray<float>(name, values.Length); Append(values); }
    public void Write(string name, ReadOnlySpan<double> values) { BeginArray<double>(name, values.Length); Append(values); }

    /// <summary>A list of texts (e.g. label names), each 7-bit length-prefixed UTF-8.</summary>
    public void Write(string name, IReadOnlyList<string> texts)
    {
        Header('T', name);
        _writer.Write((long)texts.Count);
        foreach (var text in texts) _writer.Write(text);
    }

    /// <summary>Starts an array section of <paramref name="count"/> elements; <see cref="Append{T}"/> must then supply exactly that many.</summary>
    public void BeginArray<T>(string name, long count) where T : unmanaged
    {
        Header(TypeOf<T>(), name);
        _writer.Write(count);
        _pending = count;
    }

    public void Append<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        if (values.Length > _pending) throw new InvalidOperationException("more elements than the array section announced");
        _pending -= values.Length;
        _writer.Write(MemoryMarshal.AsBytes(values));
    }

    public void Flush() => _writer.Flush();

    private void Header(char type, string name)
    {
        if (_pending != 0) throw new InvalidOperationException($"the previous array section is {_pending} elements short");
        _writer.Write((byte)type);
        _writer.Write(name);
    }

    internal static char TypeOf<T>() where T : unmanaged =>
        typeof(T) == typeof(int) ? 'I' : typeof(T) == typeof(long) ? 'L' : typeof(T) == typeof(float) ? 'F' : typeof(T) == typeof(double) ? 'D'
        : throw new ArgumentException($"no partial section type for {typeof(T).Name}");
}

/// <summary>Reads what <see cref="PartialWriter"/> wrote, section by section in the same order; a name or type that differs is an error.</summary>
public sealed class PartialReader(Stream stream)
{
    private readonly BinaryReader _reader = new(stream, Encoding.UTF8, leaveOpen: true);

    public long ReadInt64(string name) { Expect('l', name); return _reader.ReadInt64(); }
    public double ReadDouble(string name) { Expect('d', name); return _reader.ReadDouble(); }
    public int[] ReadInts(string name) => ReadArray<int>(name);
    public long[] ReadLongs(string name) => ReadArray<long>(name);
    public float[] ReadFloats(string name) => ReadArray<float>(name);
    public double[] ReadDoubles(string name) => ReadArray<double>(name);

    public string[] ReadTexts(string name)
    {
        Expect('T', name);
        long count = _reader.ReadInt64();
        if (count < 0 || count > Array.MaxLength) throw new InvalidDataException($"partial section '{name}' holds {count} texts");
        var texts = new string[count];
        for (long i = 0; i < count; i++) texts[i] = _reader.ReadString();
        return texts;
    }

    public T[] ReadArray<T>(string name) where T : unmanaged
    {
        long count = BeginArray<T>(name);
        if (count > Array.MaxLength) throw new InvalidDataException($"partial section '{name}' holds {count} elements, more than an array can");
        var values = new T[count];
        ReadInto<T>(values);
        return values;
    }

    /// <summary>Starts reading an array section; returns its element count (then <see cref="ReadInto{T}"/> reads them in pieces).</summary>
    public long BeginArray<T>(string name) where T : unmanaged
    {
        Expect(PartialWriter.TypeOf<T>(), name);
        long count = _reader.ReadInt64();
        if (count < 0) throw new InvalidDataException($"partial section '{name}' has a negative length");
        return count;
    }

    public void ReadInto<T>(Span<T> values) where T : unmanaged
    {
        var bytes = MemoryMarshal.AsBytes(values);
        while (bytes.Length > 0)
        {
            int read = _reader.BaseStream.Read(bytes);
            if (read == 0) throw new EndOfStreamException("partial ends inside a section");
            bytes = bytes[read..];
        }
    }

    private void Expect(char type, string name)
    {
        char actualType = (char)_reader.ReadByte();
        string actualName = _reader.ReadString();
        if (actualType != type || actualName != name)
            throw new InvalidDataException($"partial holds section '{actualName}' ({actualType}) where '{name}' ({type}) belongs");
    }
}
