using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>One column tile of a dense correlation partial: the mergeable moments of all A features against some B columns.</summary>
public sealed class CorrelationTilePartial(CorrelationTile tile) : IPartial
{
    public CorrelationTile Tile { get; } = tile;
}

/// <summary>
/// <c>correlation</c> on dense sites: Pearson r between every feature (column) of A and every feature of B over every
/// token, each column centred over the tokens; per feature its best partner in both directions (and the top k of A),
/// dead features (no variance) flagged and never matched (<see cref="BestMatches"/>). The partial is tiled by B's
/// columns so that no tile outgrows <c>memory_mb</c> (24 bytes per A feature per column): piece t holds
/// <see cref="CorrelationTile"/> t's centred moments, merged by Chan et al.'s pairwise update; finishing folds the tiles
/// in column order into the best matches, so the full matrix never exists. Rows: <c>correlation_mean_best_a_to_b</c>,
/// <c>_b_to_a</c>, <c>correlation_mutual_pairs</c>, and a <c>feature_matches</c> row per feature and direction.
/// </summary>
public sealed class DenseCorrelationMeasure : Measure<CorrelationParameters, CorrelationTilePartial>
{
    public override string Kind => "correlation";
    public override SiteData Data => SiteData.Dense;
    public override Arity Arity => Arity.Pair;
    public override CorrelationParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys => CorrelationParameters.Keys;

    private static CorrelationOptions Options(CorrelationParameters p) => new((long)p.MemoryMb << 20, p.TopK, p.Precision);

    private static (int First, int Width) Tile(CorrelationParameters p, MeasureShape shape, int piece)
    {
        int tile = Options(p).TileWidth(shape.WidthA, shape.RequireWidthB);
        int first = piece * tile;
        return (first, Math.Min(tile, shape.RequireWidthB - first));
    }

    public override int Pieces(CorrelationParameters p, MeasureShape shape)
    {
        int tile = Options(p).TileWidth(shape.WidthA, shape.RequireWidthB);
        return (shape.RequireWidthB + tile - 1) / tile;
    }

    public override long PartialBytes(CorrelationParameters p, MeasureShape shape) =>
        8L * ((long)shape.WidthA * shape.RequireWidthB + 2L * (shape.WidthA + shape.RequireWidthB));

    public override CorrelationTilePartial Fold(CorrelationParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        var (first, width) = Tile(p, shape, piece);
        var rows = blocks().Select(b => new RowBlock(b.A.DenseValues, b.RequireB.DenseValues, b.Rows));
        return new(CorrelationTile.FromBlocks(rows, shape.WidthA, shape.RequireWidthB, first, width, p.Precision));
    }

    public override CorrelationTilePartial Merge(CorrelationParameters p, CorrelationTilePartial a, CorrelationTilePartial b) => new(a.Tile.Merge(b.Tile));

    public override MeasureResult Finish(CorrelationParameters p, MeasureShape shape, IEnumerable<CorrelationTilePartial> pieces, SideInputs side)
    {
        BestMatchAccumulator? accumulator = null;
        long count = 0;
        foreach (var piece in pieces)
        {
            var tile = piece.Tile;
            var (correlations, deadA, deadB) = tile.Correlations();
            if (accumulator is null)
            {
                accumulator = new BestMatchAccumulator(deadA, new bool[shape.RequireWidthB], p.TopK);
                count = tile.Count;
            }
            accumulator.MarkDeadB(tile.First, deadB);
            accumulator.AddTile(tile.First, tile.Width, correlations);
        }
        var matches = (accumulator ?? throw new ArgumentException("no correlation tiles")).Finish(count);
        var parameters = new Dictionary<string, object>
        {
            ["top_k"] = p.TopK, ["memory_bytes"] = (long)p.MemoryMb << 20, ["precision"] = p.Precision.ToString().ToLowerInvariant(),
        };
        return new MeasureResult(CorrelationValues.Of(matches, parameters), MatchRow.From(matches));
    }

    public override void Write(CorrelationTilePartial partial, PartialWriter w)
    {
        var t = partial.Tile;
        var (meanA, m2A, meanB, m2B, co) = t.Moments;
        w.Write("first", t.First); w.Write("width", t.Width); w.Write("count", t.Count);
        w.Write("mean_a", meanA); w.Write("m2_a", m2A); w.Write("mean_b", meanB); w.Write("m2_b", m2B); w.Write("co", co);
    }

    public override CorrelationTilePartial Read(CorrelationParameters p, MeasureShape shape, int piece, PartialReader r)
    {
        long first = r.ReadInt64("first"), width = r.ReadInt64("width"), count = r.ReadInt64("count");
        var expected = Tile(p, shape, piece);
        if ((first, width) != (expected.First, expected.Width)) throw new InvalidDataException($"correlation tile {piece} holds columns {first}+{width}, expected {expected.First}+{expected.Width}");
        return new(CorrelationTile.FromMoments(shape.WidthA, (int)first, (int)width, count,
            r.ReadDoubles("mean_a"), r.ReadDoubles("m2_a"), r.ReadDoubles("mean_b"), r.ReadDoubles("m2_b"), r.ReadDoubles("co")));
    }
}
