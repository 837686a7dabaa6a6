using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Actors.Runs;

namespace Sweep.Cli.Rendering;

/// <summary>Progress as plain lines, for logs and pipes (no terminal control codes).</summary>
public sealed class PlainRunProgress(TextWriter output) : IRunProgress
{
    private readonly object _gate = new();
    private readonly Dictionary<WorkStage, int> _total = new();
    private readonly Dictionary<WorkStage, int> _done = new();

    public void Started(long runId, bool resumed)
    {
        lock (_gate) output.WriteLine(RunSummary.StartLine(runId, resumed));
    }

    public void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone)
    {
        lock (_gate)
        {
            foreach (var (stage, count) in unitsPerStage)
            {
                _total[stage] = count;
                _done[stage] = alreadyDone.GetValueOrDefault(stage);
                output.WriteLine($"{StageNames.Of(stage)}: {count} units ({_done[stage]} already done)");
            }
        }
    }

    public void UnitCompleted(WorkUnit unit, bool reused)
    {
        lock (_gate)
        {
            int done = _done[unit.Stage] = _done.GetValueOrDefault(unit.Stage) + 1;
            output.WriteLine($"{StageNames.Of(unit.Stage)} {done}/{_total.GetValueOrDefault(unit.Stage)}: {unit.Description}{(reused ? " (cached)" : "")}");
        }
    }

    public void UnitRetried(WorkUnit unit, int attempt, string error)
    {
        lock (_gate) output.WriteLine($"retrying {unit.Description} after attempt {attempt}: {error}");
    }
}
