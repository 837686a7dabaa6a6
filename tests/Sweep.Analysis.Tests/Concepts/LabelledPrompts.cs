using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>
/// Seeded labelled prompts as a site's shards hold them: sequences of 2–9 tokens starting with BOS (id 1), each
/// labelled with one of four labels (unequal counts, a few unlabelled), tokens from 3..40, the marker [7, 8] planted in
/// most of them; values dense (label-dependent means, some large offsets) or SAE-like non-negative sparse codes (a few
/// label-preferring features, some dead ones). <see cref="Blocks"/> cuts the rows at sequence boundaries.
/// </summary>
public sealed class LabelledPrompts
{
    public const int Bos = 1;
    public static readonly int[] Marker = [7, 8];
    public static readonly string[] Names = ["monday", "tuesday", "wednesday", "neutral"];

    public required int[] Seq { get; init; }
    public required int[] Pos { get; init; }
    public required int[] Token { get; init; }
    public required int Width { get; init; }
    public float[]? Dense { get; init; }
    public SparseRows? Sparse { get; init; }
    /// <summary>Label index per sequence (−1: unlabelled).</summary>
    public required int[] LabelOfSequence { get; init; }

    public LabelIndex Labels => new(Names, LabelOfSequence);

    public static LabelledPrompts Generate(int sequences, int width, bool sparse, int seed)
    {
        var rng = new Random(seed);
        var seq = new List<int>(); var pos = new List<int>(); var token = new List<int>();
        var labelOf = new int[sequences];
        for (int s = 0; s < sequences; s++)
        {
            double u = rng.NextDouble();
            labelOf[s] = u < 0.05 ? -1 : u < 0.35 ? 0 : u < 0.55 ? 1 : u < 0.7 ? 2 : 3;
            int length = 2 + rng.Next(8);
            var ids = new List<int> { Bos };
            while (ids.Count < length) ids.Add(3 + rng.Next(37));
            if (rng.NextDouble() < 0.7 && length >= 3)
            {
                int at = 1 + rng.Next(length - 2);
                ids[at] = Marker[0]; ids[at + 1] = Marker[1];
            }
            for (int p = 0; p < ids.Count; p++) { seq.Add(s); pos.Add(p); token.Add(ids[p]); }
        }
        int rows = seq.Count;
        if (!sparse)
        {
            var offsets = TestData.Gaussian(Names.Length, width, seed + 1, scale: 1.5);
            var noise = TestData.Gaussian(rows, width, seed + 2);
            var values = new float[rows * width];
            for (int r = 0; r < rows; r++)
            {
                int l = labelOf[seq[r]];
                for (int j = 0; j < width; j++)
                    values[r * width + j] = (float)(noise[r, j] * (1 + 0.1 * (j % 3)) + (l >= 0 ? offsets[l, j] : 0) + (j % 5 == 0 ? 40 : 0));
            }
            return new LabelledPrompts { Seq = [.. seq], Pos = [.. pos], Token = [.. token], Width = width, Dense = values, LabelOfSequence = labelOf };
        }
        var csrOffsets = new List<int> { 0 }; var indices = new List<int>(); var codes = new List<float>();
        for (int r = 0; r < rows; r++)
        {
            int l = labelOf[seq[r]];
            var token_ = new SortedDictionary<int, float>();
            // Features below width/2 fire as noise; feature 2l + width/2 prefers label l; the top quarter is dead.
            for (int k = 0; k < 3; k++) token_[rng.Next(width / 2)] = (float)(0.1 + rng.NextDouble());
            if (l >= 0 && rng.NextDouble() < 0.8) token_[width / 2 + 2 * l] = (float)(1 + 2 * rng.NextDouble());
            if (rng.NextDouble() < 0.2) token_[width / 2 + 1] = (float)rng.NextDouble();
            foreach (var (f, v) in token_) { indices.Add(f); codes.Add(v); }
            csrOffsets.Add(indices.Count);
        }
        return new LabelledPrompts
        {
            Seq = [.. seq], Pos = [.. pos], Token = [.. token], Width = width,
            Sparse = new SparseRows(width, [.. csrOffsets], [.. indices], [.. codes]), LabelOfSequence = labelOf,
        };
    }

    /// <summary>All rows as one block.</summary>
    public ActivationBlock Whole => Block(0, Seq.Length);

    /// <summary>The rows cut into <paramref name="count"/> blocks of about equal size, each at a sequence boundary.</summary>
    public IReadOnlyList<ActivationBlock> Blocks(int count)
    {
        var starts = new List<int> { 0 };
        for (int b = 1; b < count; b++)
        {
            int r = Seq.Length * b / count;
            while (r < Seq.Length && Pos[r] != 0) r++;
            if (r > starts[^1] && r < Seq.Length) starts.Add(r);
        }
        starts.Add(Seq.Length);
        return [.. starts.Zip(starts.Skip(1)).Select(p => Block(p.First, p.Second - p.First))];
    }

    public ActivationBlock Block(int from, int count)
    {
        int[] seq = Seq[from..(from + count)], pos = Pos[from..(from + count)], token = Token[from..(from + count)];
        return Dense is not null
            ? ActivationBlock.FromDense(seq, pos, token, Dense[(from * Width)..((from + count) * Width)], Width)
            : ActivationBlock.FromSparse(seq, pos, token, Sparse!.Slice(from, count));
    }

    /// <summary>
    /// The rows cut into <paramref name="count"/> blocks as the pipeline hands them to a measure: token rows, the site's
    /// values, and each row's label (the four names, in this order, in every block; −1 for an unlabelled prompt).
    /// </summary>
    public IReadOnlyList<MeasureBlock> MeasureBlocks(int count) => [.. Blocks(count).Select(ToMeasureBlock)];

    public MeasureBlock ToMeasureBlock(ActivationBlock b) => new(new TokenRows(b.Seq, b.Pos, b.Token),
        b.Dense is { } dense ? SiteRows.OfDense(b.Width, dense) : SiteRows.OfSparse(b.Sparse!),
        Labels: new RowLabels(Names, [.. b.Seq.Select(s => LabelOfSequence[s])]));

    /// <summary>A statistic written through the partial codec and read back.</summary>
    public static T RoundTrip<T>(Action<PartialWriter> write, Func<PartialReader, T> read)
    {
        using var buffer = new MemoryStream();
        var writer = new PartialWriter(buffer);
        write(writer);
        writer.Flush();
        buffer.Position = 0;
        var back = read(new PartialReader(buffer));
        Assert.Equal(buffer.Length, buffer.Position);
        return back;
    }

    /// <summary>The token rows as float64 [rows × width] (sparse codes densified) and the index [rows × 4]: seq, pos, token, label.</summary>
    public (DenseMatrix Values, DenseMatrix Index) ForReference()
    {
        int rows = Seq.Length;
        var values = Dense is not null ? DenseMatrix.FromFloats(Dense, rows, Width) : DenseMatrix.FromFloats(Sparse!.ToDense(), rows, Width);
        var index = new double[rows * 4];
        for (int r = 0; r < rows; r++)
        {
            index[r * 4] = Seq[r]; index[r * 4 + 1] = Pos[r]; index[r * 4 + 2] = Token[r]; index[r * 4 + 3] = LabelOfSequence[Seq[r]];
        }
        return (values, new DenseMatrix(rows, 4, index));
    }
}
