using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>The <c>features</c> kind (one site at a time, dense or SAE sites) and an SAE's <c>neuronpedia_id</c>: parsing, planning and line:col errors.</summary>
public sealed class JobLoaderFeaturesTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public JobLoaderFeaturesTests()
    {
        WriteSae("saes/sae-a", hook: "blocks.1.hook_resid_post", model: "tiny-a", neuronpedia: "tiny-a/1-res");
        WriteSae("saes/sae-b", hook: "blocks.1.hook_resid_post", model: "tiny-b", neuronpedia: null);
    }

    public void Dispose() => _dir.Dispose();

    private void WriteSae(string relative, string hook, string model, string? neuronpedia)
    {
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = 16, DSae = 32, HookName = hook, ModelName = model, NeuronpediaId = neuronpedia,
        };
        using var sae = new SparseAutoencoder(config, new float[16 * 32], new float[32], new float[32 * 16], new float[16]);
        SaeLensWriter.Save(sae, Path.Combine(_dir.Root, relative));
    }

    private static string Saes(string extraA = "", string extraB = "") => $"""
        saes:
          - name: sae-a
            path: saes/sae-a
            model: tiny-a
            site: blocks.1.hook_resid_post{extraA}
          - name: sae-b
            path: saes/sae-b
            model: tiny-b
            site: blocks.1.hook_resid_post{extraB}
        """;

    private static string Job(string analyses, string? saes = null, string captures = "") =>
        JobDirectory.ValidJob
            .Replace("analyses:\n  - name: layer-cka\n    kind: cka", "analyses:\n" + analyses)
            .Replace("    sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]", "    sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post" + captures + "]")
        + "\n" + (saes ?? Saes());

    private static int LineOf(string yaml, string text) => yaml.Split('\n').ToList().FindIndex(l => l.Contains(text)) + 1;

    [Fact]
    public void Features_look_inside_every_sae_site_or_every_captured_hook_one_site_at_a_time_with_defaults()
    {
        var spec = _dir.Parse(Job("""
              - name: feats
                kind: features
                sites: sae
                top_k: 5
                window_before: 8
                partners: 0
              - name: units
                kind: features
            """, captures: ", logits"));
        var feats = spec.Analyses.Single(a => a.Name == "feats");
        var p = Assert.IsType<FeaturesParameters>(feats.Parameters);
        Assert.Equal((SiteData.Sparse, Arity.Site), (feats.Measure.Data, feats.Measure.Arity));
        Assert.Equal((5, 8, 4, 3, 0, 0, 3, 10), (p.TopK, p.WindowBefore, p.WindowAfter, p.SamplesPerStratum, p.Seed, p.Partners, p.CoActivationTiles, p.LogitTokens));
        Assert.Equal(1, feats.Measure.Pieces(p, new MeasureShape(32, null, SiteData.Sparse)));   // no partners: no co-activation tiles
        Assert.Equal(4, feats.Measure.Pieces(feats.Measure.Defaults, new MeasureShape(32, null, SiteData.Sparse)));

        var units = spec.Analyses.Single(a => a.Name == "units");
        Assert.Equal(SiteData.Dense, units.Measure.Data);
        Assert.Equal(["top_k", "window_before", "window_after", "samples_per_stratum", "seed"], units.Measure.Keys.Select(k => k.Name));

        // One target per site, no pairs: the SAE code sites, and every captured hook but the model outputs.
        var corpus = new Sweep.Jobs.Corpus.TokenizedCorpus([new Sweep.Jobs.Corpus.CorpusShard(0, [[1, 2, 3]], "d0")], "c", "tok", 1, 3);
        var plan = JobPlanner.Plan(spec, corpus, spec.Models.ToDictionary(m => m.Name, _ => "w"));
        Assert.Equal(["tiny-a/blocks.1.hook_resid_post/sae/sae-a", "tiny-b/blocks.1.hook_resid_post/sae/sae-b"],
            plan.Analyses.Where(x => x.Analysis == "feats").Select(x => x.A.ToString()));
        Assert.Equal(["tiny-a/blocks.0.hook_resid_post", "tiny-a/blocks.1.hook_resid_post", "tiny-b/blocks.1.hook_resid_post"],
            plan.Analyses.Where(x => x.Analysis == "units").Select(x => x.A.ToString()));
        Assert.All(plan.Analyses, x => Assert.Null(x.B));
    }

    [Fact]
    public void Features_parameters_out_of_range_or_of_the_other_kind_of_site_are_errors_at_their_keys()
    {
        var yaml = Job("""
              - name: units
                kind: features
                partners: 4
                window_before: 2000
              - name: feats
                kind: features
                sites: sae
                top_k: 0
                pairs: across
              - name: many
                kind: features
                sites: sae
                samples_per_stratum: 101
            """);
        var errors = _dir.Errors(yaml);
        Assert.Equal(
        [
            $"jobs.yaml:{LineOf(yaml, "partners: 4")}:5: analyses[0].partners applies to kind 'features' on SAE code sites (sites: sae) only, expected one of: top_k, window_before, window_after, samples_per_stratum, seed",
            $"jobs.yaml:{LineOf(yaml, "top_k: 0")}:12: analyses[1].top_k is 0, expected an integer from 1 to 1000 (contexts per feature)",
            $"jobs.yaml:{LineOf(yaml, "samples_per_stratum: 101")}:26: analyses[2].samples_per_stratum is 101, expected at most 100",
        ], errors);
        // Each key alone is checked first; the window bound is a check of the whole record, reported once the keys parse.
        var window = _dir.Errors(Job("  - name: units\n    kind: features\n    window_before: 2000\n"));
        Assert.Equal($"jobs.yaml:{LineOf(Job("  - name: units\n    kind: features\n    window_before: 2000\n"), "window_before")}:20: analyses[0].window_before is 2000, expected at most 1024 tokens", Assert.Single(window));
        var pairs = _dir.Errors(Job("  - name: feats\n    kind: features\n    sites: sae\n    pairs: across\n"));
        Assert.Contains("analyses[0].pairs does not apply to kind 'features', which looks inside one site at a time, expected no pairs key", Assert.Single(pairs));
    }

    [Fact]
    public void Features_of_sae_sites_in_a_job_without_saes_is_an_error_at_sites()
    {
        var yaml = Job("  - name: feats\n    kind: features\n    sites: sae\n", saes: "");
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "sites: sae")}:12: analyses[0]: sites 'sae' finds no SAE site to look inside, expected an SAE in the saes or train_sae sections",
            Assert.Single(_dir.Errors(yaml)));
    }

    [Fact]
    public void An_saes_neuronpedia_id_comes_from_its_folder_unless_the_job_sets_one_and_only_a_set_one_changes_the_digest()
    {
        const string analyses = "  - name: feats\n    kind: features\n    sites: sae\n";
        var plain = _dir.Parse(Job(analyses));
        Assert.Equal(("tiny-a/1-res", null), (plain.Saes[0].Neuronpedia, plain.Saes[1].Neuronpedia));
        Assert.Null(plain.Saes[0].NeuronpediaId);

        var overridden = _dir.Parse(Job(analyses, Saes("\n    neuronpedia_id: gpt2-small/8-res-jb", "\n    neuronpedia_id: tiny-b/1-res")));
        Assert.Equal(("gpt2-small/8-res-jb", "tiny-b/1-res"), (overridden.Saes[0].Neuronpedia, overridden.Saes[1].Neuronpedia));
        Assert.NotEqual(plain.Digest, overridden.Digest);
        Assert.DoesNotContain("neuronpedia", plain.CanonicalText);
        // The features analysis stores the id, so its units are keyed by it.
        Assert.NotEqual(SitePairing.SaeSites(plain.Saes, [])[0].KeyText, SitePairing.SaeSites(overridden.Saes, [])[0].KeyText);
        Assert.Equal($"path={plain.Saes[1].Path}", SitePairing.SaeSites(plain.Saes, [])[1].KeyText);

        var yaml = Job(analyses, Saes("\n    neuronpedia_id: not an id"));
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "not an id")}:21: saes[0].neuronpedia_id is 'not an id', expected a Neuronpedia id MODEL/SAE-ID such as gpt2-small/8-res-jb (letters, digits, '.', '-', '_')",
            Assert.Single(_dir.Errors(yaml)));
    }
}
