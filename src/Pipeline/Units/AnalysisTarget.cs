using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;

namespace Sweep.Pipeline.Units;

/// <summary>A range of consecutive corpus shards: [<see cref="First"/>, <see cref="First"/> + <see cref="Count"/>).</summary>
public sealed record ShardRange(int First, int Count)
{
    public int Last => First + Count - 1;
    public IEnumerable<int> Shards => Enumerable.Range(First, Count);
    public override string ToString() => Count == 1 ? $"shard {First}" : $"shards {First}-{Last}";
}

/// <summary>
/// What one analysis compares: a pair of sites (or one site, <see cref="B"/> null, for a one-site measure) resolved
/// against the job: which of them are SAE code sites, the shape its measure works on, and its parameters completed with
/// what the corpus tokenizer knows (<see cref="Measure.ForCorpus"/>).
/// </summary>
public sealed record AnalysisTarget(AnalysisSpec Analysis, SiteRef A, SiteRef? B, SaeSite? SaeA, SaeSite? SaeB, MeasureShape Shape)
{
    public Measure Measure => Analysis.Measure;
    public MeasureParameters Parameters { get; init; } = Analysis.Parameters;
    public override string ToString() => B is null ? $"{Analysis.Name} {A}" : $"{Analysis.Name} {A} ~ {B}";

    public static AnalysisTarget Resolve(JobSpec spec, AnalysisPair unit, CorpusTokenizer? tokenizer = null)
    {
        var analysis = spec.Analyses.First(a => a.Name == unit.Analysis);
        var saeA = SitePairing.FindSaeSite(spec, unit.A);
        var saeB = unit.B is null ? null : SitePairing.FindSaeSite(spec, unit.B);
        int Width(SiteRef site, SaeSite? sae) => sae?.DSae ?? spec.Model(site.Model).Descriptor.HiddenSize;
        return new AnalysisTarget(analysis, unit.A, unit.B, saeA, saeB,
            new MeasureShape(Width(unit.A, saeA), unit.B is null ? null : Width(unit.B, saeB), analysis.Measure.Data))
        {
            Parameters = tokenizer is null ? analysis.Parameters : analysis.Measure.ForCorpus(analysis.Parameters, tokenizer),
        };
    }
}
