namespace Sweep.Analysis.Measures;

/// <summary>A measure run in memory over blocks at hand (<c>sweep compare</c>, tests): every piece folded, then finished.</summary>
public static class MeasureRuns
{
    public static MeasureResult Compute(this Measure measure, MeasureParameters parameters, MeasureShape shape,
        Func<IEnumerable<MeasureBlock>> blocks, SideInputs? side = null)
    {
        int pieces = measure.Pieces(parameters, shape);
        return measure.Finish(parameters, shape, new PieceStream(pieces, piece => measure.Fold(parameters, shape, piece, blocks)), side ?? SideInputs.None);
    }

    /// <summary>
    /// The same over <paramref name="ranges"/> (each a sequence of blocks) folded separately and merged pairwise in a
    /// balanced tree, as a distributed run does; with every partial written and read back through the partial codec.
    /// </summary>
    public static MeasureResult ComputeSplit(this Measure measure, MeasureParameters parameters, MeasureShape shape,
        IReadOnlyList<Func<IEnumerable<MeasureBlock>>> ranges, SideInputs? side = null)
    {
        int pieces = measure.Pieces(parameters, shape);
        IPartial Merged(int piece)
        {
            var level = ranges.Select(range => RoundTrip(measure, parameters, shape, piece, measure.Fold(parameters, shape, piece, range))).ToList();
            while (level.Count > 1)
                level = Enumerable.Range(0, (level.Count + 1) / 2).Select(i => 2 * i + 1 < level.Count
                    ? RoundTrip(measure, parameters, shape, piece, measure.Merge(parameters, level[2 * i], level[2 * i + 1]))
                    : level[2 * i]).ToList();
            return level[0];
        }
        return measure.Finish(parameters, shape, new PieceStream(pieces, Merged), side ?? SideInputs.None);
    }

    private static IPartial RoundTrip(Measure measure, MeasureParameters parameters, MeasureShape shape, int piece, IPartial partial)
    {
        using var buffer = new MemoryStream();
        var writer = new PartialWriter(buffer);
        measure.Write(partial, writer);
        writer.Flush();
        buffer.Position = 0;
        return measure.Read(parameters, shape, piece, new PartialReader(buffer));
    }
}
