using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;

namespace Sweep.Pipeline.Units;

/// <summary>Stages of a run, in the order their units become ready; each is served by one role.</summary>
public enum WorkStage { Capture, Analysis, TrainSae, SaeStats }

/// <summary>
/// One schedulable piece of a run: a deterministic key (the ledger's primary key within a run), the keys it waits
/// for, and what its executor needs, typed. Units never travel between nodes: every node plans the same job and
/// looks a unit up by its key.
/// </summary>
public abstract record WorkUnit(string Key, IReadOnlyList<string> DependsOn)
{
    public abstract WorkStage Stage { get; }

    /// <summary>What the unit does, for people (progress lines, <c>sweep status</c>, errors).</summary>
    public abstract string Description { get; }
}

/// <summary>Run one model over one corpus shard and write one dense shard per site (and the codes of attached SAEs).</summary>
public sealed record CaptureWork(CaptureUnit Capture) : WorkUnit(Capture.Key, [])
{
    public override WorkStage Stage => WorkStage.Capture;
    public override string Description => $"{Capture.Model} shard {Capture.ShardIndex}";
}

/// <summary>Train one SAE of the job's <c>train_sae</c> section, then encode its site with it.</summary>
public sealed record TrainSaeWork(string Key, IReadOnlyList<string> DependsOn, TrainSaeSpec Spec) : WorkUnit(Key, DependsOn)
{
    public override WorkStage Stage => WorkStage.TrainSae;
    public override string Description => $"train {Spec.Name} on {Spec.Model} {Spec.Site}";
}

/// <summary>Merge one SAE output's per-shard statistics into its run-level L0, variance explained, dead and dense counts.</summary>
/// <param name="Output"><c>codes</c>, or <c>novel</c>/<c>pred</c> for a temporal SAE.</param>
public sealed record SaeStatsWork(string Key, IReadOnlyList<string> DependsOn, string Sae, string Model, string Hook, string Output, int DSae)
    : WorkUnit(Key, DependsOn)
{
    public override WorkStage Stage => WorkStage.SaeStats;
    public override string Description => $"{Sae} {Output} statistics";
}

/// <summary>An analysis of one target over every shard.</summary>
public sealed record AnalysisWork(string Key, IReadOnlyList<string> DependsOn, AnalysisTarget Target) : WorkUnit(Key, DependsOn)
{
    public override WorkStage Stage => WorkStage.Analysis;
    public override string Description => Target.ToString();
}

public static class StageNames
{
    /// <summary>The stage as the ledger's <c>units.stage</c> spells it.</summary>
    public static string Of(WorkStage stage) => stage switch
    {
        WorkStage.Capture => "capture",
        WorkStage.Analysis => "analysis",
        WorkStage.TrainSae => "train_sae",
        WorkStage.SaeStats => "sae_stats",
        _ => throw new ArgumentOutOfRangeException(nameof(stage)),
    };
}
