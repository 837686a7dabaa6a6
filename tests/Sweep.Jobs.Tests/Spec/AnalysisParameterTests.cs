using Sweep.Analysis.Correlation;
using Sweep.Analysis.Measures;
using Sweep.Analysis.Similarity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Xunit;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>The analysis kinds beyond cka and their per-kind parameters.</summary>
public sealed class AnalysisParameterTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public void Dispose() => _dir.Dispose();

    private static string WithAnalysis(string body) =>
        JobDirectory.ValidJob.Replace("  - name: layer-cka\n    kind: cka", body);

    [Fact]
    public void Every_kind_loads_with_its_parameters_and_defaults()
    {
        var spec = _dir.Parse(WithAnalysis("""
              - name: s
                kind: svcca
                keep_variance: 0.95
              - name: r
                kind: rsa
                inner: euclidean
                outer: kendall
                max_items: 200
                seed: 7
              - name: n
                kind: knn
                k: 5
                metric: euclidean
              - name: c
                kind: correlation
                top_k: 3
                memory_mb: 64
                precision: float32
              - name: u
                kind: cka_unbiased
              - name: p
                kind: procrustes
              - name: w
                kind: pwcca
            """));
        var byName = spec.Analyses.ToDictionary(a => a.Name);
        Assert.Equal(new SvccaParameters { KeepVariance = 0.95 }, byName["s"].Parameters);
        Assert.Equal(new RsaParameters { Inner = InnerDissimilarity.Euclidean, Outer = OuterCorrelation.Kendall, MaxItems = 200, Seed = 7 }, byName["r"].Parameters);
        Assert.Equal(new KnnParameters { K = 5, Metric = NeighbourMetric.Euclidean, MaxItems = 1000 }, byName["n"].Parameters);
        Assert.Equal(new CorrelationParameters { TopK = 3, MemoryMb = 64, Precision = GemmPrecision.Float32 }, byName["c"].Parameters);
        Assert.Equal(["svcca", "rsa", "knn", "correlation", "cka_unbiased", "procrustes", "pwcca"], spec.Analyses.Select(a => a.Kind));
        Assert.Equal([typeof(SvccaMeasure), typeof(RsaMeasure), typeof(KnnMeasure), typeof(DenseCorrelationMeasure), typeof(UnbiasedCkaMeasure),
            typeof(ProcrustesMeasure), typeof(PwccaMeasure)], spec.Analyses.Select(a => a.Measure.GetType()));
        Assert.Contains("analyses[1].outer: kendall\n", spec.CanonicalText);
        Assert.Contains("analyses[0].keep_variance: 0.95\n", spec.CanonicalText);
    }

    [Fact]
    public void A_parameter_of_another_kind_is_an_error_at_its_key()
    {
        var errors = _dir.Errors(WithAnalysis("  - name: s\n    kind: svcca\n    k: 5"));
        Assert.Equal(["jobs.yaml:20:5: analyses[0].k is not a parameter of kind 'svcca', expected one of: keep_variance"], errors);
        errors = _dir.Errors(WithAnalysis("  - name: s\n    kind: cka\n    seed: 1"));
        Assert.Equal(["jobs.yaml:20:5: analyses[0].seed is not a parameter of kind 'cka', expected none besides name, kind, pairs"], errors);
    }

    [Fact]
    public void Out_of_range_parameters_name_the_key_and_the_expectation()
    {
        Assert.Equal(["jobs.yaml:20:20: analyses[0].keep_variance is '1.5', expected a number in (0, 1]"],
            _dir.Errors(WithAnalysis("  - name: s\n    kind: svcca\n    keep_variance: 1.5")));
        Assert.Equal(["jobs.yaml:20:12: analyses[0].inner is 'manhattan', expected one of: correlation, cosine, euclidean"],
            _dir.Errors(WithAnalysis("  - name: r\n    kind: rsa\n    inner: manhattan")));
        Assert.Equal(["jobs.yaml:20:8: analyses[0].k is 50, expected fewer than max_items (20)"],
            _dir.Errors(WithAnalysis("  - name: n\n    kind: knn\n    k: 50\n    max_items: 20")));
    }

    /// <summary>
    /// A run is resumed only while its job's digest is unchanged, so reading parameters into each measure's own record
    /// must leave every job's canonical text as it was; the digest here was computed before the measures owned their parameters.
    /// </summary>
    [Fact]
    public void Job_digests_are_the_ones_runs_made_before_recorded()
    {
        var spec = _dir.Parse(WithAnalysis("""
              - name: s
                kind: svcca
                keep_variance: 0.95
              - name: r
                kind: rsa
                inner: euclidean
                outer: kendall
                max_items: 200
                seed: 7
              - name: n
                kind: knn
                k: 5
                metric: euclidean
              - name: c
                kind: correlation
                top_k: 3
                memory_mb: 64
                precision: float32
              - name: u
                kind: cka_unbiased
              - name: p
                kind: procrustes
                pairs: across
              - name: w
                kind: pwcca
              - name: l
                kind: cka
            """));
        Assert.Equal("84a10cb3b71d7afa0c0916a621c24f2383b5038dfc2b997ae8bd7a8909a46ecf", spec.Digest);
    }
}
