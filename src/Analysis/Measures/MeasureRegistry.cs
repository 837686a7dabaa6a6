namespace Sweep.Analysis.Measures;

/// <summary>
/// Every measure a job can name, by kind: the one place an analysis kind is turned into its measure. A kind may have
/// one measure per kind of site data (<c>correlation</c> runs on dense activations and, exactly, on sparse SAE codes).
/// Adding a measure: one file in this folder, one line here, one section of docs/analyses.md and docs/jobs.md.
/// </summary>
public static class MeasureRegistry
{
    public static IReadOnlyList<Measure> All { get; } =
    [
        new CkaMeasure(), new UnbiasedCkaMeasure(), new SvccaMeasure(), new PwccaMeasure(), new RsaMeasure(), new KnnMeasure(),
        new ProcrustesMeasure(), new DenseCorrelationMeasure(), new CodeCorrelationMeasure(), new FeatureMatchingMeasure(),
        new FeaturesMeasure(SiteData.Dense), new FeaturesMeasure(SiteData.Sparse),
        new ConceptMeansMeasure(SiteData.Dense), new ConceptMeansMeasure(SiteData.Sparse), new ContrastMeasure(SiteData.Dense), new ContrastMeasure(SiteData.Sparse),
        new SelectivityMeasure(SiteData.Dense), new SelectivityMeasure(SiteData.Sparse), new PcaMeasure(SiteData.Dense), new PcaMeasure(SiteData.Sparse),
    ];

    /// <summary>The kinds, in the order listed above.</summary>
    public static IReadOnlyList<string> Kinds { get; } = All.Select(m => m.Kind).Distinct().ToList();

    /// <summary>The measure of <paramref name="kind"/> on <paramref name="data"/>, or null when there is none.</summary>
    public static Measure? Find(string kind, SiteData data) => All.FirstOrDefault(m => m.Kind == kind && m.Data == data);

    /// <summary>The measures of <paramref name="kind"/> (none when the kind is unknown).</summary>
    public static IReadOnlyList<Measure> Of(string kind) => All.Where(m => m.Kind == kind).ToList();

    /// <summary>Every YAML parameter key some measure has.</summary>
    public static IReadOnlyList<string> ParameterNames { get; } = All.SelectMany(m => m.Keys.Select(k => k.Name)).Distinct().ToList();
}
