using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Sweep.Models.Checkpoints;

/// <summary>
/// NumPy's own files, as <c>np.save</c> / <c>np.savez</c> / <c>np.savez_compressed</c> write them.
/// <list type="bullet">
/// <item>.npy (format versions 1–3): the magic <c>\x93NUMPY</c>, major and minor version bytes, the header length
/// (uint16 little-endian in version 1, uint32 from version 2), an ASCII/UTF-8 Python dict literal
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2304, 16384), }</c> padded with spaces to a multiple of
/// 64 bytes, then the array's bytes in C order (or Fortran order when <c>fortran_order</c> is True).</item>
/// <item>.npz: a zip archive (stored or deflated, zip64 as numpy forces it) of one <c>{name}.npy</c> per array.</item>
/// </list>
/// Only little-endian float32 (<c>&lt;f4</c>) and float16 (<c>&lt;f2</c>) arrays are read: what SAE weights are saved as.
/// NumPy has no bfloat16 (ml_dtypes' bfloat16 is saved as an opaque 2-byte record, <c>V2</c>), float64 would have
/// to be narrowed, and other kinds are not weights: each is refused with one line naming the file and the array.
/// </summary>
public static partial class NumpyArchive
{
    /// <summary>Every array of the .npz at <paramref name="path"/>, by name (the entry name without <c>.npy</c>).</summary>
    public static IReadOnlyDictionary<string, HostTensor> ReadNpz(string path) =>
        ReadEntries(path, (stream, what) => ReadNpy(stream, what));

    /// <summary>The dtype and shape of every array of the .npz at <paramref name="path"/>, reading only the .npy headers.</summary>
    public static IReadOnlyDictionary<string, TensorInfo> ReadNpzInfo(string path) =>
        ReadEntries(path, (stream, what) => ReadHeader(stream, what).Info);

    private static IReadOnlyDictionary<string, T> ReadEntries<T>(string path, Func<Stream, string, T> read)
    {
        ZipArchive archive;
        try { archive = ZipFile.OpenRead(path); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException($"{path}: not a readable .npz (zip) archive ({e.Message})", e);
        }
        using (archive)
        {
            var arrays = new Dictionary<string, T>(StringComparer.Ordinal);
            foreach (var entry in archive.Entries)
            {
                if (!entry.FullName.EndsWith(".npy", StringComparison.Ordinal))
                    throw new ModelLoadException($"{path}: entry '{entry.FullName}' is not a .npy array, expected an archive written by np.savez");
                var name = entry.FullName[..^4];
                using var stream = entry.Open();
                arrays[name] = read(stream, $"{path}: array '{name}'");
            }
            return arrays;
        }
    }

    private sealed record Header(TensorInfo Info, bool FortranOrder);

    /// <summary>Reads one .npy array from <paramref name="stream"/>; <paramref name="what"/> names it in errors.</summary>
    public static HostTensor ReadNpy(Stream stream, string what)
    {
        var header = ReadHeader(stream, what);
        var (dtype, shape) = (header.Info.Dtype, header.Info.Shape);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = new float[count];
        int size = dtype == "float32" ? 4 : 2;
        var buffer = new byte[1 << 20];
        long read = 0;
        while (read < count)
        {
            int want = (int)Math.Min(buffer.Length / size, count - read) * size;
            try { stream.ReadExactly(buffer, 0, want); }
            catch (EndOfStreamException) { throw new ModelLoadException($"{what}: the .npy data ends after {read} of {count} values (truncated file?)"); }
            for (int i = 0; i < want / size; i++)
                values[read + i] = size == 4
                    ? BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(i * 4))
                    : (float)BinaryPrimitives.ReadHalfLittleEndian(buffer.AsSpan(i * 2));
            read += want / size;
        }
        if (header.FortranOrder && shape.Length > 1)
        {
            // Column-major data is the C-order array of the reversed shape; read it back through reversed strides.
            var strides = new long[shape.Length];
            long stride = 1;
            for (int d = 0; d < shape.Length; d++) { strides[d] = stride; stride *= shape[d]; }
            values = HostTensor.Gather(values, 0, shape, strides, what);
        }
        return new HostTensor(dtype, shape, values);
    }

    /// <summary>The header of one .npy array, as written: its dtype code (<c>&lt;f4</c>), whether it is in Fortran order, its shape.</summary>
    public sealed record NpyHeader(string Descr, bool FortranOrder, long[] Shape);

    /// <summary>
    /// Reads the magic, version and header dict of a .npy array from <paramref name="stream"/>, leaving it at the
    /// array's first byte; any dtype. A malformed header is a <see cref="ModelLoadException"/> naming <paramref name="what"/>.
    /// </summary>
    public static NpyHeader ReadNpyHeader(Stream stream, string what)
    {
        var prefix = ReadExactly(stream, 8, what);
        if (prefix[0] != 0x93 || Encoding.ASCII.GetString(prefix, 1, 5) != "NUMPY")
            throw new ModelLoadException($"{what}: not a .npy array (bad magic), expected NumPy's format");
        int major = prefix[6];
        if (major is < 1 or > 3) throw new ModelLoadException($"{what}: .npy format version {major}.{prefix[7]}, expected 1.x, 2.x or 3.x");
        long headerLength = major == 1
            ? BinaryPrimitives.ReadUInt16LittleEndian(ReadExactly(stream, 2, what))
            : BinaryPrimitives.ReadUInt32LittleEndian(ReadExactly(stream, 4, what));
        if (headerLength > 1 << 20) throw new ModelLoadException($"{what}: .npy header of {headerLength} bytes, expected a short dict");
        var header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(ReadExactly(stream, (int)headerLength, what));

        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shapeText = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shapeText.Success)
            throw new ModelLoadException($"{what}: unreadable .npy header {header.Trim()}, expected keys 'descr', 'fortran_order' and 'shape'");
        long[] shape;
        try
        {
            shape = shapeText.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(d => long.Parse(d.TrimEnd('L'), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }
        catch (FormatException) { throw new ModelLoadException($"{what}: shape ({shapeText.Groups[1].Value}) is not a tuple of integers"); }
        if (shape.Any(d => d < 0)) throw new ModelLoadException($"{what}: shape ({shapeText.Groups[1].Value}) has a negative dimension");
        return new NpyHeader(descr.Groups[1].Value, fortran.Groups[1].Value == "True", shape);
    }

    /// <summary>A weights array's header: float32 or float16 only, at most one array's worth of values.</summary>
    private static Header ReadHeader(Stream stream, string what)
    {
        var (descr, fortranOrder, shape) = ReadNpyHeader(stream, what);
        var shapeText = string.Join(", ", shape);
        string dtype = descr switch
        {
            "<f4" => "float32",
            "<f2" => "float16",
            ">f4" or ">f2" => throw new ModelLoadException($"{what}: big-endian dtype '{descr}', expected little-endian float32 ('<f4') or float16 ('<f2'): save arr.astype('<f4')"),
            "<f8" or ">f8" => throw new ModelLoadException($"{what}: dtype float64 ('{descr}'), expected float32 ('<f4') or float16 ('<f2'): save arr.astype(np.float32)"),
            var v when v.Contains('V') => throw new ModelLoadException($"{what}: dtype '{v}' (raw records: how ml_dtypes' bfloat16 is saved, which NumPy itself cannot read back), expected float32 ('<f4') or float16 ('<f2'): save arr.astype(np.float32)"),
            var v => throw new ModelLoadException($"{what}: dtype '{v}', expected float32 ('<f4') or float16 ('<f2')"),
        };
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > Array.MaxLength)
            throw new ModelLoadException($"{what}: shape ({shapeText}) is more values than one array holds");
        return new Header(new TensorInfo(dtype, shape), fortranOrder);
    }

    private static byte[] ReadExactly(Stream stream, int count, string what)
    {
        var bytes = new byte[count];
        try { stream.ReadExactly(bytes); }
        catch (EndOfStreamException) { throw new ModelLoadException($"{what}: the .npy data ends early (truncated file?)"); }
        return bytes;
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
