namespace Sweep.Jobs.Planning;

/// <summary>A hook point of one model.</summary>
public sealed record SiteRef(string Model, string Site)
{
    public override string ToString() => $"{Model}/{Site}";
}

/// <summary>Run one model over one corpus shard and keep all of that model's requested sites.</summary>
public sealed record CaptureUnit(string Key, string Model, int ShardIndex, IReadOnlyList<string> Sites);

/// <summary>A pairwise analysis of two captured sites over every shard; it depends on both models' capture units.</summary>
public sealed record AnalysisUnit(string Key, string Analysis, string Kind, SiteRef A, SiteRef B);

/// <summary>The work of a job: capture units (model x shard) and analysis units (analysis x site pair).</summary>
public sealed record JobPlan(IReadOnlyList<CaptureUnit> Captures, IReadOnlyList<AnalysisUnit> Analyses)
{
    /// <summary>The capture units an analysis unit reads: every shard of both sites' models.</summary>
    public IReadOnlyList<CaptureUnit> DependenciesOf(AnalysisUnit unit) =>
        Captures.Where(c => c.Model == unit.A.Model || c.Model == unit.B.Model).ToList();

    public CaptureUnit Capture(string model, int shardIndex) =>
        Captures.FirstOrDefault(c => c.Model == model && c.ShardIndex == shardIndex)
        ?? throw new KeyNotFoundException($"no capture unit for model '{model}' shard {shardIndex}");
}
