using Sweep.Analysis.Measures;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>Runs an analysis target's measure over the corpus shards and turns its result into rows.</summary>
public sealed class AnalysisExecutor(SaeRun saes)
{
    private readonly SiteReader _reader = new(saes);

    public UnitResult Execute(AnalysisWork unit, CancellationToken cancellationToken)
    {
        var target = unit.Target;
        var range = new ShardRange(0, saes.Run.Corpus.Shards.Count);
        var result = target.Measure.Compute(target.Parameters, target.Shape, () => _reader.Blocks(target, range, cancellationToken),
            SideInputLoader.For(target, saes));
        return new UnitResult(AnalysisRows.From(target, result), Reused: false);
    }
}
