using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Tests.Spec;

/// <summary><c>analyses[i].models</c>: which models' sites an analysis compares, e.g. trained models apart from their untrained twins.</summary>
public sealed class AnalysisModelsTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public AnalysisModelsTests()
    {
        _dir.Model("models/tiny-c");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary><see cref="JobDirectory.ValidJob"/> with a third model, tiny-c, captured at two sites, and these analyses (from line 23).</summary>
    private static string Job(string analyses) => JobDirectory.ValidJob
        .Replace("    path: models/tiny-b\n", "    path: models/tiny-b\n  - name: tiny-c\n    path: models/tiny-c\n")
        .Replace("    sites: [blocks.1.hook_resid_post]\n", "    sites: [blocks.1.hook_resid_post]\n  - model: tiny-c\n    sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]\n")
        .Replace("  - name: layer-cka\n    kind: cka\n", analyses);

    private static string Pair((SiteRef A, SiteRef B) p) => $"{p.A.Model}/{p.A.Site}~{p.B.Model}/{p.B.Site}";

    [Fact]
    public void An_analysis_with_models_pairs_only_their_sites_in_capture_order_and_without_it_every_model_takes_part()
    {
        var spec = _dir.Parse(Job("""
              - name: trained
                kind: cka
                pairs: across
                models: [tiny-c, tiny-a]
              - name: everything
                kind: cka
                pairs: across

            """));
        Assert.Equal(["tiny-c", "tiny-a"], spec.Analyses[0].ModelList);
        Assert.Equal(
            ["tiny-a/blocks.0.hook_resid_post~tiny-c/blocks.0.hook_resid_post", "tiny-a/blocks.0.hook_resid_post~tiny-c/blocks.1.hook_resid_post",
             "tiny-a/blocks.1.hook_resid_post~tiny-c/blocks.0.hook_resid_post", "tiny-a/blocks.1.hook_resid_post~tiny-c/blocks.1.hook_resid_post"],
            SitePairing.Pairs(spec, spec.Analyses[0]).Select(Pair));
        Assert.Null(spec.Analyses[1].ModelList);
        Assert.Equal(2 * 1 + 2 * 2 + 1 * 2, SitePairing.Pairs(spec, spec.Analyses[1]).Count);
        Assert.Equal(["tiny-a/blocks.0.hook_resid_post", "tiny-a/blocks.1.hook_resid_post", "tiny-c/blocks.0.hook_resid_post", "tiny-c/blocks.1.hook_resid_post"],
            SitePairing.Sites(spec, spec.Analyses[0]).Select(s => $"{s.Model}/{s.Site}"));
    }

    [Fact]
    public void Models_enter_the_job_digest_only_when_set()
    {
        string without = _dir.Parse(Job("  - name: c\n    kind: cka\n")).Digest;
        string all = _dir.Parse(Job("  - name: c\n    kind: cka\n    models: [tiny-a, tiny-b, tiny-c]\n")).Digest;
        string two = _dir.Parse(Job("  - name: c\n    kind: cka\n    models: [tiny-a, tiny-b]\n")).Digest;
        Assert.Equal(without, _dir.Parse(Job("  - name: c\n    kind: cka\n")).Digest);
        Assert.NotEqual(without, all);
        Assert.NotEqual(all, two);
    }

    [Fact]
    public void A_model_that_is_not_captured_listed_twice_or_an_empty_list_is_an_error_at_the_entry()
    {
        Assert.Equal(["jobs.yaml:24:22: analyses[0].models[1] 'tiny-d' is not a captured model, expected one of: tiny-a, tiny-b, tiny-c; did you mean 'tiny-a'?"],
            _dir.Errors(Job("  - name: c\n    kind: cka\n    models: [tiny-a, tiny-d]\n")));
        Assert.Equal(["jobs.yaml:24:22: analyses[0].models[1] 'tiny-a' is listed twice, expected each once"],
            _dir.Errors(Job("  - name: c\n    kind: cka\n    models: [tiny-a, tiny-a]\n")));
        Assert.Equal(["jobs.yaml:24:13: analyses[0].models is an empty list, expected a list of model names"],
            _dir.Errors(Job("  - name: c\n    kind: cka\n    models: []\n")));
    }

    [Fact]
    public void Models_that_leave_no_pair_are_an_error_naming_them()
    {
        Assert.Equal(["jobs.yaml:24:12: analyses[0]: pairs 'across' finds no two captured sites of models tiny-b to compare, expected captures of at least two models"],
            _dir.Errors(Job("  - name: c\n    kind: cka\n    pairs: across\n    models: [tiny-b]\n")));
    }
}
