using Spectre.Console;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Cli.Rendering;

/// <summary>Progress bars on an interactive terminal, one per stage. Callbacks arrive from worker threads.</summary>
public sealed class BarRunProgress(ProgressContext context) : IRunProgress
{
    private readonly object _gate = new();
    private readonly Dictionary<WorkStage, ProgressTask> _bars = new();

    public void Started(long runId, bool resumed)
    {
        lock (_gate) AnsiConsole.WriteLine(RunSummary.StartLine(runId, resumed));
    }

    public void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone)
    {
        lock (_gate)
            foreach (var (stage, count) in unitsPerStage.OrderBy(kv => kv.Key))
            {
                var bar = context.AddTask(StageNames.Of(stage), maxValue: Math.Max(count, 1));
                bar.Increment(alreadyDone.GetValueOrDefault(stage));
                _bars[stage] = bar;
            }
    }

    public void UnitCompleted(WorkUnit unit, bool reused)
    {
        lock (_gate)
            if (_bars.TryGetValue(unit.Stage, out var bar)) bar.Increment(1);
    }

    public void UnitRetried(WorkUnit unit, int attempt, string error)
    {
        lock (_gate) AnsiConsole.MarkupLineInterpolated($"[yellow]retrying[/] {unit.Description} after attempt {attempt}: {error}");
    }
}
