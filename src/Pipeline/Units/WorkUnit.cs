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

/// <summary>A partial statistic one analysis unit reads: the unit that wrote it and the corpus shards it covers.</summary>
public sealed record PartialInput(string UnitKey, ShardRange Covers);

/// <summary>Analysis units write partial statistics (map, merge) or result rows (finalize); all are served by reducers.</summary>
public abstract record AnalysisUnitWork(string Key, IReadOnlyList<string> DependsOn, AnalysisTarget Target) : WorkUnit(Key, DependsOn)
{
    public override WorkStage Stage => WorkStage.Analysis;
}

/// <summary>Folds one range of corpus shards of a target into its measure's partial statistics, written as a partial file.</summary>
public sealed record AnalysisMapWork(string Key, IReadOnlyList<string> DependsOn, AnalysisTarget Target, ShardRange Range)
    : AnalysisUnitWork(Key, DependsOn, Target)
{
    public override string Description => $"{Target} map {Range}";
}

/// <summary>Merges two partial files of a target (disjoint shard ranges) into one covering both.</summary>
public sealed record AnalysisMergeWork(string Key, IReadOnlyList<string> DependsOn, AnalysisTarget Target, IReadOnlyList<PartialInput> Inputs, ShardRange Covers)
    : AnalysisUnitWork(Key, DependsOn, Target)
{
    public override string Description => $"{Target} merge {Covers}";
}

/// <summary>
/// Turns a target's final partial statistics into result rows: it merges its partial <see cref="Inputs"/> (the last
/// level of the merge tree), or, when the whole corpus is one range, folds <see cref="Range"/> itself (no partial file).
/// </summary>
public sealed record AnalysisFinalizeWork(string Key, IReadOnlyList<string> DependsOn, AnalysisTarget Target, IReadOnlyList<PartialInput> Inputs, ShardRange? Range)
    : AnalysisUnitWork(Key, DependsOn, Target)
{
    public override string Description => Range is null ? $"{Target} finalize" : Target.ToString();
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
