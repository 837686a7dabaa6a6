using Sweep.Storage.Shards;

namespace Sweep.Storage.Database;

/// <summary>A run's state: <see cref="Interrupted"/> is a run stopped on purpose (SIGINT, SIGTERM), which <c>--resume</c> continues.</summary>
public enum RunStatus { Pending, Running, Succeeded, Failed, Interrupted }

public enum UnitStatus { Pending, Running, Done, Failed }

/// <summary>A row of <c>runs</c>.</summary>
/// <param name="HeartbeatAge">How long ago the run's driver last stamped its heartbeat, by the database's clock (null: never).</param>
public sealed record RunRecord(
    long RunId, string Name, RunStatus Status, string? Error, string SpecYaml, string SpecDigest, string StoreDir,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, TimeSpan? HeartbeatAge = null);

/// <summary>A unit the planner wants in the ledger. <paramref name="UnitKey"/> is deterministic for the same work.</summary>
public sealed record UnitRecord(string UnitKey, string Stage, string Description = "");

/// <summary>A row of <c>units</c>: the ledger's view of one unit.</summary>
/// <param name="Lease">The unit's latest lease (its latest attempt's number; 0 before the first).</param>
public sealed record UnitState(
    long RunId, string UnitKey, string Stage, string Description, UnitStatus Status, int Attempts,
    string? Worker, string? OutputUri, string? Checksum, string? Error, DateTimeOffset UpdatedAt, int Lease = 0);

/// <summary>What the ledger made of a unit's commit.</summary>
public enum CommitOutcome
{
    /// <summary>This commit recorded the unit's outputs: it is done.</summary>
    Committed,
    /// <summary>The unit was already done (another lease committed it first); nothing changed.</summary>
    AlreadyDone,
    /// <summary>A newer lease of the unit was handed out; this (late) result was refused and nothing changed.</summary>
    StaleLease,
}

/// <summary>One shard a unit produced, for the <c>shards</c> catalog.</summary>
public sealed record ShardRow(
    string ShardKey, string Model, string Site, int ShardIndex, long Rows, int Width, string Dtype,
    string Uri, string Checksum, long Bytes)
{
    /// <summary>The catalog row of a shard file just written (key = <see cref="ShardMetadata.CacheKey"/>).</summary>
    public static ShardRow For(ShardMetadata metadata, long rows, string uri, string checksum, long bytes) =>
        new(metadata.CacheKey(), metadata.Model, metadata.Site, metadata.ShardIndex, rows, metadata.Width,
            metadata.Dtype, uri, checksum, bytes);
}

/// <summary>
/// One metric value for the <c>metrics</c> table. Pair measures fill both sides; single-site
/// measures leave <paramref name="ModelB"/>/<paramref name="SiteB"/> null. <paramref name="ParamsJson"/> is a JSON object.
/// An undefined result has a null <paramref name="Value"/> and says why in <paramref name="UndefinedReason"/>; a value that
/// is not finite is stored as undefined too (<see cref="Stored"/>), never as NaN.
/// </summary>
public sealed record MetricRow(
    string Analysis, string Measure, string ModelA, string SiteA, string? ModelB, string? SiteB,
    double? Value, long NTokens, string ParamsJson = "{}", string? UndefinedReason = null)
{
    /// <summary>The value and reason as the table holds them: a finite number and no reason, or NULL and a reason.</summary>
    public (double? Value, string? Reason) Stored => Value is { } v && double.IsFinite(v)
        ? (v, null)
        : (null, UndefinedReason ?? (Value is { } bad ? $"the computation gave {bad} (numerically undefined)" : "undefined (no reason recorded)"));
}

/// <summary>A metric row as stored, with the unit that wrote it.</summary>
public sealed record StoredMetric(long MetricId, long RunId, string UnitKey, MetricRow Metric, DateTimeOffset CreatedAt);

/// <summary>Everything a completed unit commits, in one transaction.</summary>
public sealed record UnitOutput(
    string? OutputUri = null, string? Checksum = null,
    IReadOnlyList<ShardRow>? Shards = null, IReadOnlyList<MetricRow>? Metrics = null,
    IReadOnlyList<FeatureMatchRow>? FeatureMatches = null)
{
    /// <summary>The rows of a <c>features</c> analysis (the feature tables), or null.</summary>
    public FeatureResults? Features { get; init; }
    /// <summary>A concept analysis unit's rows of the concept tables (null for every other unit).</summary>
    public ConceptResults? Concepts { get; init; }
}

internal static class StatusText
{
    public static string ToText(this RunStatus status) => status switch
    {
        RunStatus.Pending => "pending",
        RunStatus.Running => "running",
        RunStatus.Succeeded => "succeeded",
        RunStatus.Failed => "failed",
        RunStatus.Interrupted => "interrupted",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static string ToText(this UnitStatus status) => status switch
    {
        UnitStatus.Pending => "pending",
        UnitStatus.Running => "running",
        UnitStatus.Done => "done",
        UnitStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    public static RunStatus ParseRun(string text) => text switch
    {
        "pending" => RunStatus.Pending,
        "running" => RunStatus.Running,
        "succeeded" => RunStatus.Succeeded,
        "failed" => RunStatus.Failed,
        "interrupted" => RunStatus.Interrupted,
        _ => throw new InvalidDataException($"unknown run status '{text}' in the database"),
    };

    public static UnitStatus ParseUnit(string text) => text switch
    {
        "pending" => UnitStatus.Pending,
        "running" => UnitStatus.Running,
        "done" => UnitStatus.Done,
        "failed" => UnitStatus.Failed,
        _ => throw new InvalidDataException($"unknown unit status '{text}' in the database"),
    };
}
