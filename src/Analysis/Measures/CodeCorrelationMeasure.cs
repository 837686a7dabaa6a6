using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>A sparse correlation partial: the exact co-active statistics of two SAE code sites over some tokens, for one tile of A features.</summary>
public sealed class CodeStatistics(SparsePairStatistics stats) : IPartial
{
    public SparsePairStatistics Stats { get; } = stats;
}

/// <summary>
/// <c>correlation</c> on SAE code sites (<c>sites: sae</c>): the same best matches as the dense measure would give on
/// the dense codes, exactly, from <see cref="SparsePairStatistics"/> (n, per-feature sums and squares, cross sums over
/// co-active pairs only; a pair never co-active has r = −qᵢqⱼ/n from the sums alone, see <see cref="SparseCorrelation"/>),
/// for non-negative and signed codes alike.
/// <para>
/// Memory: the partial is cut into tiles of consecutive A features (<see cref="TilesOf"/>), each a piece folded in one
/// pass over the range's shards, so that no tile's cross sums can outgrow <c>memory_mb</c> whatever the codes: a row
/// holds at most <see cref="MaxRowBytes"/> (a sparse row of fewer than 2/3 of B's features with a quarter spare room,
/// or a dense row). Finishing takes each tile's matches in turn and releases it (<see cref="SparseCorrelation.Tiles"/>);
/// the result does not depend on the tiling. Folding batches a range's blocks into sparse products added in place
/// (<see cref="SparseCorrelationMeasure"/>); partials merge tile by tile by adding sums and cross sums.
/// Rows as the dense measure's; params <c>path: sparse</c>, <c>co_active_pairs</c>, <c>memory_bytes</c> and
/// <c>passes</c> (the tiles).
/// </para>
/// </summary>
public sealed class CodeCorrelationMeasure : Measure<CodeCorrelationParameters, CodeStatistics>
{
    /// <summary>Estimated co-active partners per A feature, for sizing ranges (the real number depends on the codes).</summary>
    internal const int PartnersPerFeature = 64;

    public override string Kind => "correlation";
    public override SiteData Data => SiteData.Sparse;
    public override Arity Arity => Arity.Pair;
    public override CodeCorrelationParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys => CodeCorrelationParameters.Keys;
    public override bool TakesSignedCodes => true;

    public override long PartialBytes(CodeCorrelationParameters p, MeasureShape shape) => Estimate(shape);

    internal static long Estimate(MeasureShape shape) =>
        12L * shape.WidthA * Math.Min(PartnersPerFeature, shape.RequireWidthB) + 16L * (shape.WidthA + shape.RequireWidthB);

    /// <summary>
    /// The most one A feature's cross sums can take with B of width <paramref name="widthB"/>: its row header, and 12 bytes
    /// per co-active pair with up to a quarter spare for fewer than 2/3·FB pairs (under 10·FB bytes), else 8·FB dense.
    /// </summary>
    public static long MaxRowBytes(int widthB) => 40 + 10L * widthB;

    /// <summary>Tiles of A features such that each tile's rows fit in <paramref name="memoryBytes"/> at their largest (at least one feature a tile).</summary>
    public static int TilesOf(long memoryBytes, int widthA, int widthB)
    {
        long perTile = Math.Max(1, memoryBytes / MaxRowBytes(widthB));
        return (int)Math.Min(widthA, (widthA + perTile - 1) / perTile);
    }

    public override int Pieces(CodeCorrelationParameters p, MeasureShape shape) => TilesOf(Budget(p), shape.WidthA, shape.RequireWidthB);

    private static long Budget(CodeCorrelationParameters p) => (long)p.MemoryMb << 20;

    /// <summary>A features [Low, High) of tile <paramref name="piece"/>: the tiles split A as evenly as whole features allow.</summary>
    public static (int Low, int High) TileRange(int piece, int tiles, int widthA) =>
        ((int)((long)widthA * piece / tiles), (int)((long)widthA * (piece + 1) / tiles));

    public override CodeStatistics Fold(CodeCorrelationParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        var (low, high) = TileRange(piece, Pieces(p, shape), shape.WidthA);
        return new(SparseCorrelationMeasure.Statistics(blocks().Select(b => (b.A.SparseCodes, b.RequireB.SparseCodes)), low, high));
    }

    public override CodeStatistics Merge(CodeCorrelationParameters p, CodeStatistics a, CodeStatistics b) => new(a.Stats.MergeConsuming(b.Stats));

    public override MeasureResult Finish(CodeCorrelationParameters p, MeasureShape shape, IEnumerable<CodeStatistics> pieces, SideInputs side)
    {
        var tiles = new SparseCorrelation.Tiles(p.TopK);
        long pairs = 0;
        int passes = 0;
        foreach (var piece in pieces)
        {
            tiles.Add(piece.Stats);
            pairs += piece.Stats.CoActivePairs;
            passes++;
        }
        var matches = tiles.Finish();
        var parameters = new Dictionary<string, object>
        {
            ["top_k"] = p.TopK, ["path"] = "sparse", ["co_active_pairs"] = pairs, ["memory_bytes"] = Budget(p), ["passes"] = passes,
        };
        return new MeasureResult(CorrelationValues.Of(matches, parameters), MatchRow.From(matches));
    }

    public override void Write(CodeStatistics partial, PartialWriter w) => SparseStatisticsCodec.Write(partial.Stats, w);

    public override CodeStatistics Read(CodeCorrelationParameters p, MeasureShape shape, int piece, PartialReader r)
    {
        var stats = SparseStatisticsCodec.Read(shape.WidthA, shape.RequireWidthB, r);
        var expected = TileRange(piece, Pieces(p, shape), shape.WidthA);
        if ((stats.LowA, stats.HighA) != expected)
            throw new InvalidDataException($"correlation tile {piece} holds A features [{stats.LowA}, {stats.HighA}), expected [{expected.Low}, {expected.High})");
        return new(stats);
    }
}
