using System.Runtime.InteropServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace Sweep.Storage.Shards;

/// <summary>
/// The element types a dense shard may store <c>act</c> in (docs/shard-format.md): float32 as is, float16 as
/// Arrow's half float, bfloat16 as its bit patterns in uint16 (Arrow has no bfloat16 type). Readers always get
/// float32 back; the 16-bit types halve the file.
/// </summary>
public static class ShardDtype
{
    public const string Float32 = "float32";
    public const string Float16 = "float16";
    public const string BFloat16 = "bfloat16";

    public static IReadOnlyList<string> All { get; } = [Float32, Float16, BFloat16];

    /// <summary><see cref="All"/> for messages: "float32, float16, bfloat16".</summary>
    public static string Names { get; } = string.Join(", ", All);

    /// <summary>
    /// The shard format version a shard of <paramref name="dtype"/> is written as: the 16-bit types came with
    /// version 2; float32 files are unchanged since version 1, so their cache keys and older readers still hold.
    /// </summary>
    public static int FormatVersionOf(string dtype) => dtype == Float32 ? 1 : 2;

    /// <summary>
    /// Rounds <paramref name="values"/> in place to what a shard of <paramref name="dtype"/> stores, so activations
    /// kept in memory after writing equal what any later reader of the file gets.
    /// </summary>
    public static void Round(Span<float> values, string dtype)
    {
        if (dtype == Float32) return;
        bool half = dtype == Float16;
        foreach (ref var value in values) value = half ? (float)(Half)value : FromBFloat16(ToBFloat16(value));
    }

    /// <summary>float32 to bfloat16 bits, rounding to nearest with ties to even; NaN stays NaN.</summary>
    public static ushort ToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        // Dropping the low half of a NaN could leave an all-zero mantissa (an infinity): set the quiet bit instead.
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        // Adding 0x7FFF rounds the dropped half to nearest, adding the kept half's lowest bit breaks ties to even.
        // A carry runs into the exponent, which is right: the largest values round up to infinity.
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>bfloat16 bits to float32: exact, bfloat16 is the high half of a float32.</summary>
    public static float FromBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The Arrow type of <c>act</c>'s list items.</summary>
    internal static IArrowType ArrowType(string dtype) => dtype switch
    {
        Float16 => HalfFloatType.Default,
        BFloat16 => UInt16Type.Default,
        _ => FloatType.Default,
    };

    /// <summary>An Arrow array of <paramref name="values"/> in <paramref name="dtype"/> (of <see cref="ArrowType"/>).</summary>
    /// <summary>Items [<paramref name="start"/>, start + <paramref name="length"/>) of <paramref name="source"/> as an Arrow array of <paramref name="dtype"/> (float32: the array itself, not copied).</summary>
    internal static IArrowArray Encode(float[] source, int start, int length, string dtype)
    {
        if (dtype == Float32) return new FloatArray(ShardArrow.Buffer(source, start, length), ArrowBuffer.Empty, length, 0, 0);
        var values = source.AsSpan(start, length);
        bool half = dtype == Float16;
        var bytes = new byte[length * sizeof(ushort)];
        var bits = MemoryMarshal.Cast<byte, ushort>(bytes.AsSpan());
        for (var i = 0; i < length; i++)
            bits[i] = half ? BitConverter.HalfToUInt16Bits((Half)values[i]) : ToBFloat16(values[i]);
        return half
            ? new HalfFloatArray(new ArrowBuffer(bytes), ArrowBuffer.Empty, length, 0, 0)
            : new UInt16Array(new ArrowBuffer(bytes), ArrowBuffer.Empty, length, 0, 0);
    }

    /// <summary>Widens items <c>start ..</c> of an array <see cref="Encode"/> made (or a reader found) into <paramref name="target"/>.</summary>
    internal static void Decode(IArrowArray array, int start, Span<float> target)
    {
        switch (array)
        {
            case FloatArray floats:
                floats.Values.Slice(start, target.Length).CopyTo(target);
                break;
            case HalfFloatArray halves:
                var half = halves.Values.Slice(start, target.Length);
                for (var i = 0; i < target.Length; i++) target[i] = (float)half[i];
                break;
            case UInt16Array bfloat16:
                var bits = bfloat16.Values.Slice(start, target.Length);
                for (var i = 0; i < target.Length; i++) target[i] = FromBFloat16(bits[i]);
                break;
            default:
                throw new ArgumentException($"no shard dtype is stored as {array.Data.DataType.Name}", nameof(array));
        }
    }
}
