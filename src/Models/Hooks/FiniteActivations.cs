namespace Sweep.Models.Hooks;

/// <summary>
/// Captured activations must be finite before they become a shard: a NaN or infinity (an overflow in float16, a broken
/// checkpoint) would otherwise be stored and turn every statistic that reads it into NaN or a silent wrong number.
/// The capture refuses the shard instead, naming the model, site, shard and count (docs/analyses.md).
/// </summary>
public static class FiniteActivations
{
    /// <summary>Throws <see cref="NonFiniteActivationsException"/> when any value is NaN or ±infinity.</summary>
    public static void Require(string model, string site, int shardIndex, ReadOnlySpan<float> values, int width)
    {
        long count = 0, firstRow = -1;
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i])) continue;
            if (count++ == 0) firstRow = i / Math.Max(1, width);
        }
        if (count > 0) throw new NonFiniteActivationsException(model, site, shardIndex, count, values.Length, firstRow);
    }
}

/// <summary>A capture produced NaN or infinite activations; malformed output of the model (or its weights), never retried.</summary>
public sealed class NonFiniteActivationsException(string model, string site, int shardIndex, long count, long total, long firstRow)
    : Exception($"model '{model}' site {site} shard {shardIndex}: {count} of {total} activations are not finite (NaN or ±infinity; the first in row {firstRow}), " +
                "so the shard is not written; check the weights, or keep float32 (execution.dtype, output.shard_dtype) if float16 overflows");
