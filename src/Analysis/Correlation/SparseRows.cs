using System.Runtime.CompilerServices;
namespace Sweep.Analysis.Correlation;

/// <summary>
/// Sparse codes of a block of tokens in CSR form, the layout of a sparse shard (Arrow <c>idx</c>
/// List&lt;int32&gt;, <c>val</c> List&lt;float32&gt;): token t holds Indices/Values[Offsets[t]..Offsets[t+1]),
/// indices strictly increasing within a token, values the activations: non-negative (ReLU, TopK and JumpReLU SAEs, a
/// temporal SAE's novel codes) unless <see cref="Signed"/> (a temporal SAE's pred codes), finite either way.
/// </summary>
public sealed record SparseRows(int Width, int[] Offsets, int[] Indices, float[] Values)
{
    public int Rows => Offsets.Length - 1;

    /// <summary>
    /// Whether the codes may be negative. The site that wrote them says so (<c>SaeSite.Signed</c>); <see cref="Validate"/>
    /// refuses a negative value unless it is set, so codes that should be non-negative are never silently taken as signed.
    /// </summary>
    public bool Signed { get; init; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Validate()
    {
        if (Offsets.Length == 0 || Offsets[0] != 0 || Offsets[^1] != Indices.Length || Indices.Length != Values.Length)
            throw new ArgumentException("sparse rows: offsets must start at 0 and end at the number of indices, one value per index");
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++)
            {
                if (Indices[k] < 0 || Indices[k] >= Width) throw new ArgumentException($"sparse rows: token {t} has feature {Indices[k]} outside 0..{Width - 1}");
                if (k > Offsets[t] && Indices[k] <= Indices[k - 1]) throw new ArgumentException($"sparse rows: token {t} has feature indices out of order");
                if (!float.IsFinite(Values[k]) || (Values[k] < 0 && !Signed))
                    throw new ArgumentException($"sparse rows: token {t} feature {Indices[k]} has value {Values[k]}, expected {(Signed ? "finite" : "non-negative")} codes");
            }
    }

    /// <summary>Dense row-major copy [Rows, Width] (for tests and the dense reference path).</summary>
    public float[] ToDense()
    {
        var dense = new float[(long)Rows * Width];
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++) dense[(long)t * Width + Indices[k]] = Values[k];
        return dense;
    }

    /// <summary>Tokens [from, from + count) as their own block.</summary>
    public SparseRows Slice(int from, int count)
    {
        int start = Offsets[from], end = Offsets[from + count];
        var offsets = new int[count + 1];
        for (int t = 0; t <= count; t++) offsets[t] = Offsets[from + t] - start;
        return this with { Offsets = offsets, Indices = Indices[start..end], Values = Values[start..end] };
    }
}
