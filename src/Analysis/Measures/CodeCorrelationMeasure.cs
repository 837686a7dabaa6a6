using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>A sparse correlation partial: the exact co-active statistics of two SAE code sites over some tokens.</summary>
public sealed class CodeStatistics(SparsePairStatistics stats) : IPartial
{
    public SparsePairStatistics Stats { get; } = stats;
}

/// <summary>
/// <c>correlation</c> on SAE code sites (<c>sites: sae</c>): the same best matches as the dense measure would give on
/// the dense codes, exactly, from <see cref="SparsePairStatistics"/> (n, per-feature sums and squares, cross sums over
/// co-active pairs only; a pair never co-active has r = −qᵢqⱼ/n from the sums alone, see <see cref="SparseCorrelation"/>),
/// for non-negative and signed codes alike.
/// Folding batches a range's blocks into sparse products merged as a tree (<see cref="SparseCorrelationMeasure"/>);
/// partials merge by adding sums and cross sums. <c>memory_mb</c> and <c>precision</c> do not apply. Rows as the
/// dense measure's; params <c>path: sparse</c> and <c>co_active_pairs</c>.
/// </summary>
public sealed class CodeCorrelationMeasure : Measure<CorrelationParameters, CodeStatistics>
{
    /// <summary>Estimated co-active partners per A feature, for sizing ranges (the real number depends on the codes).</summary>
    internal const int PartnersPerFeature = 64;

    public override string Kind => "correlation";
    public override SiteData Data => SiteData.Sparse;
    public override Arity Arity => Arity.Pair;
    public override CorrelationParameters DefaultParameters { get; } = new();
    public override IReadOnlyList<ParameterKey> Keys => CorrelationParameters.Keys;
    public override bool TakesSignedCodes => true;

    public override long PartialBytes(CorrelationParameters p, MeasureShape shape) => Estimate(shape);

    internal static long Estimate(MeasureShape shape) =>
        12L * shape.WidthA * Math.Min(PartnersPerFeature, shape.RequireWidthB) + 16L * (shape.WidthA + shape.RequireWidthB);

    public override CodeStatistics Fold(CorrelationParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks) =>
        new(SparseCorrelationMeasure.Statistics(blocks().Select(b => (b.A.SparseCodes, b.RequireB.SparseCodes))));

    public override CodeStatistics Merge(CorrelationParameters p, CodeStatistics a, CodeStatistics b) => new(a.Stats.MergeConsuming(b.Stats));

    public override MeasureResult Finish(CorrelationParameters p, MeasureShape shape, IEnumerable<CodeStatistics> pieces, SideInputs side)
    {
        var stats = pieces.Single().Stats;
        var matches = SparseCorrelation.BestMatches(stats, p.TopK);
        var parameters = new Dictionary<string, object> { ["top_k"] = p.TopK, ["path"] = "sparse", ["co_active_pairs"] = stats.CoActivePairs };
        return new MeasureResult(CorrelationValues.Of(matches, parameters), MatchRow.From(matches));
    }

    public override void Write(CodeStatistics partial, PartialWriter w) => SparseStatisticsCodec.Write(partial.Stats, w);

    public override CodeStatistics Read(CorrelationParameters p, MeasureShape shape, int piece, PartialReader r) =>
        new(SparseStatisticsCodec.Read(shape.WidthA, shape.RequireWidthB, r));
}
