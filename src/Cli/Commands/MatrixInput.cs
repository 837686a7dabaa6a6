using System.Buffers.Binary;
using Sweep.Analysis.Statistics;
using Sweep.Models;
using Sweep.Models.Checkpoints;
using Sweep.Storage.Shards;

namespace Sweep.Cli.Commands;

/// <summary>A 2-D matrix read for <c>sweep compare</c>: rows are items, row-major float32, with one id per row.</summary>
internal sealed record MatrixInput(string Path, int Rows, int Cols, float[] Values, long[] Ids)
{
    /// <summary>
    /// Reads a .npy file (float32 or float64, C order, 2-D) or a Sweep dense Arrow shard (.arrow). NaN and infinity
    /// are refused (docs/analyses.md): one line naming the file and how many values are not finite.
    /// </summary>
    public static MatrixInput Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var matrix = System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".npy" => Npy.Read(path),
            ".arrow" => FromShard(path, DenseShardFile.Read(path)),
            _ => throw new InvalidDataException($"{path}: unknown matrix format, expected a .npy file or a Sweep .arrow shard"),
        };
        long bad = FiniteValues.CountNonFinite(matrix.Values);
        if (bad > 0)
            throw new InvalidDataException($"{path}: {bad} of its {matrix.Rows} x {matrix.Cols} values are not finite (NaN, ±infinity, or beyond float32's range), expected finite numbers: measures refuse them");
        return matrix;
    }

    private static MatrixInput FromShard(string path, DenseShard shard)
    {
        var ids = new long[shard.Rows];
        for (int r = 0; r < shard.Rows; r++) ids[r] = ((long)shard.Seq[r] << 32) | (uint)shard.Pos[r];
        return new MatrixInput(path, shard.Rows, shard.Metadata.Width, shard.Act, ids);
    }
}

/// <summary>
/// A NumPy .npy file for compare: the header read by <see cref="NumpyArchive.ReadNpyHeader"/>, then what compare
/// needs of the array: little-endian float32/float64, C order, two dimensions.
/// </summary>
internal static class Npy
{
    public static MatrixInput Read(string path)
    {
        using var stream = File.OpenRead(path);
        NumpyArchive.NpyHeader header;
        try { header = NumpyArchive.ReadNpyHeader(stream, path); }
        catch (ModelLoadException e) { throw new InvalidDataException(e.Message, e); }
        var dims = header.Shape;
        var shapeText = string.Join(", ", dims);
        if (header.FortranOrder) throw new InvalidDataException($"{path}: array is in Fortran order, expected C order (np.ascontiguousarray)");
        if (dims.Length != 2) throw new InvalidDataException($"{path}: array has shape ({shapeText}), expected 2 dimensions (items x units)");
        if (dims[0] * dims[1] > int.MaxValue) throw new InvalidDataException($"{path}: {dims[0]} x {dims[1]} values are too many for one matrix");
        int rows = (int)dims[0], cols = (int)dims[1];
        var values = new float[rows * cols];
        switch (header.Descr)
        {
            case "<f4":
                var bytes4 = ReadExactly(stream, values.Length * 4L, path);
                for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes4.AsSpan(i * 4));
                break;
            case "<f8":
                var bytes8 = ReadExactly(stream, values.Length * 8L, path);
                for (int i = 0; i < values.Length; i++) values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(bytes8.AsSpan(i * 8));
                break;
            default:
                throw new InvalidDataException($"{path}: dtype '{header.Descr}', expected little-endian float32 ('<f4') or float64 ('<f8')");
        }
        return new MatrixInput(path, rows, cols, values, Enumerable.Range(0, rows).Select(i => (long)i).ToArray());
    }

    private static byte[] ReadExactly(Stream stream, long count, string path)
    {
        var bytes = new byte[count];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read != count) throw new InvalidDataException($"{path}: file ends after {read} of {count} data bytes");
        return bytes;
    }
}
