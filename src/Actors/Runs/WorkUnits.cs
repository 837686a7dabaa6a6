using Sweep.Actors.Execution;
using Sweep.Jobs.Planning;

namespace Sweep.Actors.Runs;

/// <summary>Turns a job plan into schedulable units: captures first, each analysis after its models' captures.</summary>
public static class WorkUnits
{
    public static IReadOnlyList<WorkUnit> From(JobPlan plan)
    {
        var units = plan.Captures
            // model-major order, so a worker keeps one model loaded across consecutive shards
            .OrderBy(c => c.Model, StringComparer.Ordinal).ThenBy(c => c.ShardIndex)
            .Select(c => new WorkUnit(c.Key, WorkStage.Capture, $"{c.Model} shard {c.ShardIndex}", [], c))
            .ToList();
        units.AddRange(plan.Analyses.Select(a => new WorkUnit(a.Key, WorkStage.Analysis,
            $"{a.Analysis} {a.A} ~ {a.B}", plan.DependenciesOf(a).Select(c => c.Key).ToList(), a)));
        return units;
    }

    public static string StageName(WorkStage stage) => stage switch
    {
        WorkStage.Capture => "capture",
        WorkStage.Analysis => "analysis",
        WorkStage.TrainSae => "train_sae",
        WorkStage.SaeStats => "sae_stats",
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };
}
