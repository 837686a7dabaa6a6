using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;

namespace Sweep.Analysis.Tests;

/// <summary>
/// A seeded corpus of sequences of varying length with SAE-like codes on every token (<see cref="SaeCodes"/>, values
/// rounded to one decimal so ties on value are common, few distinct token ids), cut into shards of whole sequences as
/// <c>CorpusLoader</c> cuts them. <see cref="Dense"/> holds every code, row-major, for brute-force references.
/// </summary>
public sealed class FeatureCorpus
{
    public int Width { get; }
    public int Rows { get; }
    public int[] Seq { get; }
    public int[] Pos { get; }
    public int[] Token { get; }
    public SparseRows Codes { get; }
    public float[] Dense { get; }
    /// <summary>Shard boundaries in rows: shard s is rows [ShardStarts[s], ShardStarts[s + 1]).</summary>
    public int[] ShardStarts { get; }

    private FeatureCorpus(SparseRows codes, int[] seq, int[] pos, int[] token, int[] shardStarts)
    {
        Width = codes.Width; Rows = codes.Rows; Seq = seq; Pos = pos; Token = token; Codes = codes; Dense = codes.ToDense();
        ShardStarts = shardStarts;
    }

    public static FeatureCorpus Generate(int sequences, int width, int seed, int sequencesPerShard = 3, int vocab = 30)
    {
        var rng = new Random(seed);
        var lengths = Enumerable.Range(0, sequences).Select(_ => 1 + rng.Next(24)).ToArray();
        int rows = lengths.Sum();
        var raw = SaeCodes.Generate(rows, width, width, concepts: width / 2, conceptsPerToken: 2, noisePerToken: 2, seed: seed).A;
        var codes = raw with { Values = raw.Values.Select(v => MathF.Round(v, 1)).ToArray() };
        int[] seq = new int[rows], pos = new int[rows], token = new int[rows];
        var starts = new List<int>();
        for (int s = 0, r = 0; s < sequences; s++)
        {
            if (s % sequencesPerShard == 0) starts.Add(r);
            for (int p = 0; p < lengths[s]; p++, r++) { seq[r] = 100 + s; pos[r] = p; token[r] = rng.Next(vocab); }
        }
        starts.Add(rows);
        return new FeatureCorpus(codes, seq, pos, token, starts.ToArray());
    }

    public int Shards => ShardStarts.Length - 1;

    public float Value(int row, int feature) => Dense[(long)row * Width + feature];

    /// <summary>Rows [from, to) as a block (must be whole sequences).</summary>
    public FeatureBlock Block(int from, int to) =>
        FeatureBlock.FromSparse(Codes.Slice(from, to - from), Seq[from..to], Pos[from..to], Token[from..to]);

    public FeatureBlock Shard(int s) => Block(ShardStarts[s], ShardStarts[s + 1]);

    /// <summary>The same rows as a dense block, values shifted by <paramref name="shift"/> (so some are negative).</summary>
    public FeatureBlock DenseShard(int s, float shift)
    {
        int from = ShardStarts[s], to = ShardStarts[s + 1];
        var values = Dense[(from * Width)..(to * Width)].Select(v => v + shift).ToArray();
        return FeatureBlock.FromDense(values, Width, Seq[from..to], Pos[from..to], Token[from..to]);
    }

    /// <summary>Rows [start, end) of row r's sequence.</summary>
    public (int Start, int End) SequenceOf(int row)
    {
        int start = row, end = row;
        while (start > 0 && Seq[start - 1] == Seq[row]) start--;
        while (end < Rows && Seq[end] == Seq[row]) end++;
        return (start, end);
    }
}
