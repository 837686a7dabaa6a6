using Sweep.Storage.Shards;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>
/// The 16-bit storage conversions: bfloat16 against an independent rounding (nearest of the two neighbours,
/// compared in float64), float16 against System.Half and against values worked out by hand.
/// </summary>
public sealed class ShardDtypeTests
{
    private const float BFloat16Max = 255f * (1L << 60) * (1L << 60);          // (2 - 2^-7) * 2^127
    private const float BFloat16OverflowTie = 511f * (1L << 60) * (1L << 59);  // halfway from it to 2^128

    /// <summary>Awkward float32 inputs: ties both ways, subnormals of either type, overflow, signed zeros, infinities, NaN.</summary>
    public static readonly float[] Awkward =
    [
        0f, -0f, 1f, -1f, 0.1f, -3.14159f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN,
        1f + 1f / 256, 1f + 3f / 256, 1f + 1f / 256 + 1f / (1 << 20), // bfloat16 ties (to 1 and to 1+2^-6) and just above one
        1f + 1f / 2048, 1f + 3f / 2048,                                // float16 ties
        float.Epsilon, -float.Epsilon, 1e-40f, MathF.ScaleB(1, -133), MathF.ScaleB(1.5f, -133), MathF.ScaleB(1, -126),
        MathF.ScaleB(1, -24), MathF.ScaleB(1, -25), MathF.ScaleB(3, -25), 6e-8f, 1e-5f,  // float16 subnormals and ties between them
        65504f, 65519f, 65520f, -65520f, 1e5f, BFloat16Max, BFloat16OverflowTie, float.MaxValue, -float.MaxValue,
    ];

    /// <summary>The bfloat16 value nearest to <paramref name="x"/>, ties to the even bit pattern; not the bit trick under test.</summary>
    private static float ReferenceBFloat16(float x)
    {
        if (float.IsNaN(x) || float.IsInfinity(x)) return x;
        uint bits = BitConverter.SingleToUInt32Bits(x);
        uint toward = bits & 0xFFFF0000, away = toward + 0x10000;   // the neighbours: truncated, and one bfloat16 step further out
        double Value(uint b) => (b & 0x7FFFFFFF) == 0x7F800000 ? Math.CopySign(Math.Pow(2, 128), x) : BitConverter.UInt32BitsToSingle(b);
        double below = Math.Abs(x - Value(toward)), above = Math.Abs(Value(away) - x);
        uint pick = below < above || (below == above && (toward & 0x10000) == 0) ? toward : away;
        return BitConverter.UInt32BitsToSingle(pick);
    }

    [Fact]
    public void BFloat16_rounds_to_nearest_even_like_an_independent_rounding_over_awkward_and_random_bit_patterns()
    {
        var random = new Random(20241);
        var inputs = Awkward.Concat(Enumerable.Range(0, 200_000).Select(_ => BitConverter.UInt32BitsToSingle((uint)random.NextInt64(1L << 32))));
        foreach (var x in inputs)
        {
            var got = ShardDtype.FromBFloat16(ShardDtype.ToBFloat16(x));
            var expected = ReferenceBFloat16(x);
            if (float.IsNaN(x)) Assert.True(float.IsNaN(got), $"NaN {BitConverter.SingleToUInt32Bits(x):x8} became {got}");
            else Assert.True(BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(got),
                $"{x:R} ({BitConverter.SingleToUInt32Bits(x):x8}): expected {expected:R}, got {got:R}");
        }
    }

    [Theory]
    [InlineData(1f + 1f / 256, 1f)]                        // tie: 1 has the even pattern
    [InlineData(1f + 3f / 256, 1f + 1f / 64)]              // tie: rounds up to the even pattern
    [InlineData(BFloat16Max, BFloat16Max)]
    [InlineData(BFloat16OverflowTie, float.PositiveInfinity)]  // tie: bfloat16's max is odd, so it overflows
    [InlineData(float.MaxValue, float.PositiveInfinity)]
    [InlineData(float.Epsilon, 0f)]                        // below half bfloat16's smallest subnormal (2^-133)
    public void BFloat16_examples_worked_out_by_hand(float input, float expected) =>
        Assert.Equal(expected, ShardDtype.FromBFloat16(ShardDtype.ToBFloat16(input)));

    [Fact]
    public void BFloat16_keeps_signed_zero_and_infinities_and_keeps_NaN_a_NaN_even_when_its_payload_is_in_the_low_half()
    {
        Assert.Equal(0x8000, ShardDtype.ToBFloat16(-0f));
        Assert.Equal(0x7F80, ShardDtype.ToBFloat16(float.PositiveInfinity));
        Assert.Equal(0xFF80, ShardDtype.ToBFloat16(float.NegativeInfinity));
        Assert.True(float.IsNaN(ShardDtype.FromBFloat16(ShardDtype.ToBFloat16(BitConverter.UInt32BitsToSingle(0x7F800001)))));
        Assert.True(float.IsNaN(ShardDtype.FromBFloat16(ShardDtype.ToBFloat16(BitConverter.UInt32BitsToSingle(0xFFFFFFFF)))));
    }

    [Theory]
    [InlineData(65504f, 65504f)]                  // float16's max
    [InlineData(65519f, 65504f)]                  // just under the halfway point to 2^16
    [InlineData(65520f, float.PositiveInfinity)]  // halfway: ties to even, which is the overflow
    [InlineData(1e5f, float.PositiveInfinity)]
    [InlineData(1f + 1f / 2048, 1f)]              // tie: 1 has the even pattern
    [InlineData(1f + 3f / 2048, 1f + 1f / 512)]   // tie: rounds up to the even pattern
    [InlineData(1f / (1 << 24), 1f / (1 << 24))]  // the smallest float16 subnormal
    [InlineData(1f / (1 << 25), 0f)]              // tie between 0 and 2^-24: 0 is even
    [InlineData(3f / (1 << 25), 1f / (1 << 23))]  // tie between 2^-24 and 2^-23: 2^-23 is even
    [InlineData(float.Epsilon, 0f)]
    public void Float16_examples_worked_out_by_hand(float input, float expected)
    {
        Span<float> values = [input];
        ShardDtype.Round(values, ShardDtype.Float16);
        Assert.Equal(expected, values[0]);
    }

    [Theory]
    [InlineData(ShardDtype.Float32)]
    [InlineData(ShardDtype.Float16)]
    [InlineData(ShardDtype.BFloat16)]
    public void Round_gives_what_the_dtype_stores(string dtype)
    {
        var values = Awkward.ToArray();
        ShardDtype.Round(values, dtype);
        ShardTestData.AssertSameValues(Awkward.Select(x => Stored(x, dtype)).ToArray(), values);
    }

    /// <summary>What a shard of <paramref name="dtype"/> reads back for <paramref name="x"/>: System.Half for float16, the reference for bfloat16.</summary>
    public static float Stored(float x, string dtype) => dtype switch
    {
        ShardDtype.Float16 => (float)(Half)x,
        ShardDtype.BFloat16 => ReferenceBFloat16(x),
        _ => x,
    };
}
