using System.Text;

namespace Sweep.Models.Training;

/// <summary>
/// Random numbers that are the same bits on every machine: SplitMix64 (Steele, Lea, Flood 2014) for uniforms and
/// an Irwin–Hall normal (the sum of 12 uniforms minus 6: mean 0, variance 1, tails cut at ±6), which uses only
/// exactly-rounded additions, unlike Box–Muller, whose log and cos differ between math libraries in the last bit.
/// Used for initial weights (each tensor its own stream: the seed mixed with the tensor's name, so adding a layer
/// leaves the others unchanged) and for the order in which training windows are drawn.
/// </summary>
internal struct SeededRandom(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The stream for tensor <paramref name="name"/> of a model seeded with <paramref name="seed"/>.</summary>
    public static SeededRandom ForTensor(ulong seed, string name) => new(seed ^ Fnv1a(name));

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits (exact in a double).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in 0..<paramref name="n"/>-1 (Lemire's multiply-shift; its bias is below 2^-32 for the sizes used here).</summary>
    public int NextInt(int n) => (int)((UInt128)(Next() >> 32) * (ulong)n >> 32);

    /// <summary>An Irwin–Hall normal(0, 1) draw.</summary>
    public double NextNormal()
    {
        double sum = 0;
        for (int k = 0; k < 12; k++) sum += NextDouble();
        return sum - 6.0;
    }

    /// <summary><paramref name="count"/> normal(0, <paramref name="std"/>) values for tensor <paramref name="name"/>.</summary>
    public static float[] Normal(ulong seed, string name, long count, double std)
    {
        var rng = ForTensor(seed, name);
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)(rng.NextNormal() * std);
        return values;
    }

    private static ulong Fnv1a(string s)
    {
        ulong h = 14695981039346656037UL;
        foreach (var b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 1099511628211UL; }
        return h;
    }
}
