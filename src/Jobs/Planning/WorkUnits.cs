namespace Sweep.Jobs.Planning;

/// <summary>A hook point of one model.</summary>
public sealed record SiteRef(string Model, string Site)
{
    public override string ToString() => $"{Model}/{Site}";
}

/// <summary>Run one model over one corpus shard and keep all of that model's requested sites.</summary>
public sealed record CaptureUnit(string Key, string Model, int ShardIndex, IReadOnlyList<string> Sites);

/// <summary>
/// One pair of sites an analysis compares over every shard, or one site (<see cref="B"/> null) a one-site measure looks
/// inside (Sweep.Pipeline plans it as map, merge and finalize units).
/// </summary>
public sealed record AnalysisPair(string Analysis, string Kind, SiteRef A, SiteRef? B);

/// <summary>The work of a job: capture units (model x shard) and the site pairs of each analysis.</summary>
public sealed record JobPlan(IReadOnlyList<CaptureUnit> Captures, IReadOnlyList<AnalysisPair> Analyses)
{
    /// <summary>The capture units a pair reads: every shard of both sites' models.</summary>
    public IReadOnlyList<CaptureUnit> DependenciesOf(AnalysisPair pair) =>
        Captures.Where(c => c.Model == pair.A.Model || c.Model == pair.B?.Model).ToList();

    public CaptureUnit Capture(string model, int shardIndex) =>
        Captures.FirstOrDefault(c => c.Model == model && c.ShardIndex == shardIndex)
        ?? throw new KeyNotFoundException($"no capture unit for model '{model}' shard {shardIndex}");
}
