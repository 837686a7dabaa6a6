using System.Numerics;

namespace Sweep.Analysis.Statistics;

/// <summary>
/// Measures refuse NaN and infinity in their inputs (docs/analyses.md): one NaN would silently turn every sum it
/// touches into NaN, or into a plausible-looking number after a clamp. The callers that know the input's name (a
/// file, a shard) check first and say so; the measures check again, naming the side.
/// </summary>
public static class FiniteValues
{
    /// <summary>How many values are NaN or ±infinity.</summary>
    public static long CountNonFinite(ReadOnlySpan<float> values)
    {
        long count = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            // x − x is 0 for every finite x and NaN for NaN and ±∞: a whole vector passes when all differences are 0.
            for (; i <= values.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var v = new Vector<float>(values.Slice(i, Vector<float>.Count));
                if (Vector.EqualsAll(v - v, Vector<float>.Zero)) continue;
                for (int j = i; j < i + Vector<float>.Count; j++) if (!float.IsFinite(values[j])) count++;
            }
        }
        for (; i < values.Length; i++) if (!float.IsFinite(values[i])) count++;
        return count;
    }

    public static long CountNonFinite(ReadOnlySpan<double> values)
    {
        long count = 0;
        foreach (var v in values) if (!double.IsFinite(v)) count++;
        return count;
    }

    /// <summary>Throws <see cref="NonFiniteInputException"/> naming <paramref name="what"/> when any value is NaN or ±infinity.</summary>
    public static void Require(ReadOnlySpan<float> values, string what)
    {
        long bad = CountNonFinite(values);
        if (bad > 0) throw new NonFiniteInputException(what, bad, values.Length);
    }

    public static void Require(ReadOnlySpan<double> values, string what)
    {
        long bad = CountNonFinite(values);
        if (bad > 0) throw new NonFiniteInputException(what, bad, values.Length);
    }
}

/// <summary>An input of a measure holds NaN or infinity. The message is one line: what, how many, out of how many.</summary>
public sealed class NonFiniteInputException(string what, long count, long total)
    : Exception($"{what} holds {count} non-finite value{(count == 1 ? "" : "s")} (NaN or ±infinity) among {total}; measures refuse them")
{
    public string What { get; } = what;
    public long Count { get; } = count;
}
