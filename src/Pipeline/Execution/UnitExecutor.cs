using Sweep.Pipeline.Results;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// One worker's executor: dispatches each typed unit to the executor of its kind, the one place that does, and writes
/// the rows it produced as the unit's result file (<see cref="ResultFile"/>) for the coordinator to commit; a failure is
/// reported permanent or transient as <see cref="UnitFailures"/> decides. Executors
/// are made when first needed and kept (a capture executor keeps its model loaded across a worker's units); model
/// work runs on the worker's device, reductions on the CPU.
/// </summary>
public sealed class UnitExecutor(PreparedRun run, string device) : IUnitExecutor
{
    private readonly SaeRun _saes = device == run.Context.Spec.Execution.Device ? run.Saes : new SaeRun(run.ContextOn(device));
    private CaptureExecutor? _capture;
    private TrainSaeExecutor? _train;
    private SaeStatsExecutor? _stats;
    private AnalysisExecutor? _analysis;

    public Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken)
    {
        UnitResult result;
        try { result = Execute(unit, cancellationToken); }
        catch (Exception e) when (UnitFailures.IsPermanent(e) && e is not PermanentUnitFailure)
        {
            throw UnitFailures.Classify(e, run.Context.RunId);
        }
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(ResultFile.Write(run.Context.ResultPath(unit.Key, lease), result.Output, result.Reused));
    }

    private UnitResult Execute(WorkUnit unit, CancellationToken cancellationToken) => unit switch
    {
        CaptureWork capture => (_capture ??= new CaptureExecutor(_saes.Run, _saes)).Execute(capture, cancellationToken),
        TrainSaeWork train => (_train ??= new TrainSaeExecutor(_saes)).Execute(train, cancellationToken),
        SaeStatsWork stats => (_stats ??= new SaeStatsExecutor(run.Saes)).Execute(stats, cancellationToken),
        AnalysisUnitWork analysis => (_analysis ??= new AnalysisExecutor(run.Saes)).Execute(analysis, cancellationToken),
        _ => throw new ArgumentOutOfRangeException(nameof(unit), unit.GetType().Name, "no executor for this kind of unit"),
    };

    public void Dispose() => _capture?.Dispose();
}
