using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>Analyses between SAE code sites (<c>sites: sae</c>, <c>kind: feature_matching</c>): pairing, parameters and line:col errors.</summary>
public sealed class JobLoaderSaeAnalysisTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public JobLoaderSaeAnalysisTests()
    {
        WriteSae("saes/sae-a", hook: "blocks.1.hook_resid_post", model: "tiny-a");
        WriteSae("saes/sae-b", hook: "blocks.1.hook_resid_post", model: "tiny-b");
    }

    public void Dispose() => _dir.Dispose();

    private void WriteSae(string relative, string hook, string model)
    {
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.Standard, DIn = 16, DSae = 32, HookName = hook, ModelName = model };
        using var sae = new SparseAutoencoder(config, new float[16 * 32], new float[32], new float[32 * 16], new float[16]);
        SaeLensWriter.Save(sae, Path.Combine(_dir.Root, relative));
    }

    private const string Saes = """
        saes:
          - name: sae-a
            path: saes/sae-a
            model: tiny-a
            site: blocks.1.hook_resid_post
          - name: sae-b
            path: saes/sae-b
            model: tiny-b
            site: blocks.1.hook_resid_post
        """;

    private static string Job(string analyses, string saes = Saes) =>
        JobDirectory.ValidJob.Replace("analyses:\n  - name: layer-cka\n  kind: cka".Replace("\n  kind", "\n    kind"), "analyses:\n" + analyses) + "\n" + saes;

    /// <summary>1-based line of the first line of <paramref name="yaml"/> containing <paramref name="text"/>.</summary>
    private static int LineOf(string yaml, string text) => yaml.Split('\n').ToList().FindIndex(l => l.Contains(text)) + 1;

    [Fact]
    public void Sae_sites_pair_their_code_sites_and_feature_matching_has_defaults()
    {
        var spec = _dir.Parse(Job("""
              - name: corr
                kind: correlation
                sites: sae
              - name: fm
                kind: feature_matching
                hungarian: true
                non_concept_tokens: [".", ","]
                min_correlation: 0.2
              - name: dense
                kind: correlation
            """));
        var corr = spec.Analyses.Single(a => a.Name == "corr");
        Assert.Equal(AnalysisSites.Sae, corr.Sites);
        Assert.Equal([(new SiteRef("tiny-a", "blocks.1.hook_resid_post/sae/sae-a"), new SiteRef("tiny-b", "blocks.1.hook_resid_post/sae/sae-b"))],
            SitePairing.Pairs(spec, corr));
        Assert.Equal(32, SitePairing.SaeSites(spec.Saes, spec.TrainSaes)[0].DSae);
        Assert.Equal(3, SitePairing.Pairs(spec, spec.Analyses.Single(a => a.Name == "dense")).Count);

        var fm = spec.Analyses.Single(a => a.Name == "fm");
        var p = Assert.IsType<FeatureMatchingParameters>(fm.Parameters);
        Assert.IsType<FeatureMatchingMeasure>(fm.Measure);
        Assert.IsType<CodeCorrelationMeasure>(corr.Measure);
        Assert.Equal((AnalysisSites.Sae, true, true, 0.2, 100, 10, 0.5, false), (fm.Sites, p.Hungarian, p.OneToOne,
            p.MinCorrelation, p.Permutations, p.TopTokens, p.NonConceptShare, p.SharedTopToken));
        Assert.Equal([".", ","], p.NonConceptTokens);

        // `sites: sae` and the matching settings are part of the job's digest.
        var dense = _dir.Parse(Job("""
              - name: corr
                kind: correlation
            """));
        Assert.NotEqual(_dir.Parse(Job("""
              - name: corr
                kind: correlation
                sites: sae
            """)).Digest, dense.Digest);
    }

    [Fact]
    public void A_sparse_correlation_takes_a_memory_budget_for_its_tiles_and_refuses_a_precision()
    {
        var spec = _dir.Parse(Job("""
              - name: corr
                kind: correlation
                sites: sae
                memory_mb: 256
                top_k: 2
            """));
        Assert.Equal(new CodeCorrelationParameters { TopK = 2, MemoryMb = 256 }, spec.Analyses.Single().Parameters);
        Assert.Equal(4096, new CodeCorrelationParameters().MemoryMb);

        var yaml = Job("""
              - name: corr
                kind: correlation
                sites: sae
                precision: float32
            """);
        Assert.Equal([$"jobs.yaml:{LineOf(yaml, "precision")}:5: analyses[0].precision applies to kind 'correlation' on dense sites (sites: dense) only, expected one of: top_k, memory_mb"],
            _dir.Errors(yaml));
    }

    [Fact]
    public void Trained_saes_are_sae_sites_after_the_published_ones()
    {
        var spec = _dir.Parse(Job("""
              - name: corr
                kind: correlation
                sites: sae
                pairs: within
            """, Saes + "\ntrain_sae:\n  - name: mine\n    model: tiny-b\n    site: blocks.1.hook_resid_post\n    k: 4"));
        var sites = SitePairing.SaeSites(spec.Saes, spec.TrainSaes);
        Assert.Equal(["sae-a", "sae-b", "mine"], sites.Select(s => s.Name));
        Assert.Equal((JobLoader.DefaultExpansionFactor * 16, true), (sites[2].DSae, sites[2].Trained is not null));
        Assert.Equal([(new SiteRef("tiny-b", "blocks.1.hook_resid_post/sae/sae-b"), new SiteRef("tiny-b", "blocks.1.hook_resid_post/sae/mine"))],
            SitePairing.Pairs(spec, spec.Analyses.Single()));
    }

    [Fact]
    public void Sae_sites_on_a_dense_measure_and_dense_sites_for_feature_matching_are_errors_at_sites()
    {
        var yaml = Job("""
              - name: c
                kind: cka
                sites: sae
              - name: fm
                kind: feature_matching
                sites: dense
              - name: bad
                kind: correlation
                sites: sparse
            """);
        var errors = _dir.Errors(yaml);
        Assert.Equal(3, errors.Count);
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "sites: sae")}:12: analyses[0].sites is 'sae' for kind 'cka', expected kind correlation, feature_matching, features, concept_means, contrast, selectivity or pca (the measures on sparse SAE codes)", errors[0]);
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "sites: dense")}:12: analyses[1].sites is 'dense' for kind 'feature_matching', expected 'sae' (kind 'feature_matching' runs on SAE code sites only)", errors[1]);
        Assert.StartsWith($"jobs.yaml:{LineOf(yaml, "sites: sparse")}:12: analyses[2].sites", errors[2]);
    }

    [Fact]
    public void Feature_matching_without_two_sae_sites_is_an_error()
    {
        var one = Saes[..Saes.IndexOf("  - name: sae-b", StringComparison.Ordinal)];
        var yaml = Job("""
              - name: fm
                kind: feature_matching
                pairs: across
            """, one);
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "pairs: across")}:12: analyses[0]: pairs 'across' finds no two SAE sites (saes, train_sae) to compare, expected SAEs attached to at least two models",
            Assert.Single(_dir.Errors(yaml)));
    }

    [Fact]
    public void The_non_concept_filter_without_a_corpus_tokenizer_is_an_error_unless_turned_off()
    {
        // Neither model has tokenizer files (a model with its own would have to tokenize text, which a corpus of ids is not).
        foreach (var file in new[] { "tiny-a", "tiny-b" }.SelectMany(m => Directory.GetFiles(Path.Combine(_dir.Root, "models", m))).Where(f => Path.GetFileName(f) is "vocab.json" or "merges.txt" or "tokenizer.json" or "tokenizer.model"))
            File.Delete(file);
        var yaml = Job("""
              - name: fm
                kind: feature_matching
            """).Replace("corpus.txt", "corpus.jsonl");
        File.WriteAllText(Path.Combine(_dir.Root, "corpus.jsonl"), "{\"ids\": [1, 2, 3, 4]}\n");
        var error = Assert.Single(_dir.Errors(yaml));
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "kind: feature_matching")}:11: analyses[0]: the non-concept filter needs the corpus tokenizer, but model 'tiny-a' has no tokenizer files, expected non_concept_tokens: [] (filter off)", error);
        var off = Assert.IsType<FeatureMatchingParameters>(_dir.Parse(yaml.Replace("kind: feature_matching", "kind: feature_matching\n    non_concept_tokens: []")).Analyses.Single().Parameters);
        Assert.Empty(off.NonConceptTokens);
    }

    [Fact]
    public void A_pair_analysis_takes_a_list_of_SAE_code_sites_and_a_bad_entry_is_an_error_at_the_entry()
    {
        const string a = "blocks.1.hook_resid_post/sae/sae-a", b = "blocks.1.hook_resid_post/sae/sae-b";
        var spec = _dir.Parse(Job($"  - name: corr\n    kind: correlation\n    sites: [{b}, {a}]\n"));
        var analysis = spec.Analyses.Single();
        Assert.Equal([b, a], analysis.SiteList);
        Assert.Equal([(new SiteRef("tiny-a", a), new SiteRef("tiny-b", b))], SitePairing.Pairs(spec, analysis));
        Assert.NotEqual(_dir.Parse(Job("  - name: corr\n    kind: correlation\n    sites: sae\n")).Digest, spec.Digest);

        var yaml = Job($"  - name: corr\n    kind: correlation\n    sites: [{a}, blocks.1.hook_resid_post/sae/sae-c]\n");
        var error = Assert.Single(_dir.Errors(yaml));
        Assert.StartsWith($"jobs.yaml:{LineOf(yaml, "sae-c")}:", error);
        Assert.Contains("analyses[0].sites[1] 'blocks.1.hook_resid_post/sae/sae-c' is not an SAE code site (saes, train_sae)", error);
        // A list of hook points stays for the one-site kinds.
        var hooks = Job("  - name: corr\n    kind: correlation\n    sites: [blocks.1.hook_resid_post]\n");
        Assert.Contains("analyses[0].sites as a list applies to the kinds that look inside one site", Assert.Single(_dir.Errors(hooks)));
    }

    /// <summary>A temporal SAE folder (conf.yaml + latest_ckpt.safetensors, zero weights: validation reads the shapes) on 16-wide activations.</summary>
    private void WriteTemporalSae(string relative)
    {
        const int dIn = 16, w = 32, ne = 4;
        var dir = Path.Combine(_dir.Root, relative);
        Directory.CreateDirectory(dir);
        (float[], long[]) T(params long[] shape) => (new float[shape.Aggregate(1L, (a, b) => a * b)], shape);
        Sweep.Models.Checkpoints.SafeTensors.Write(Path.Combine(dir, "latest_ckpt.safetensors"), new Dictionary<string, (float[], long[])>
        {
            ["D"] = T(w, dIn), ["b"] = T(1, dIn),
            ["attn_layers.0.k_ctx.weight"] = T(ne, w), ["attn_layers.0.k_ctx.bias"] = T(ne),
            ["attn_layers.0.q_target.weight"] = T(ne, w), ["attn_layers.0.q_target.bias"] = T(ne),
            ["attn_layers.0.v_ctx.weight"] = T(w, w), ["attn_layers.0.v_ctx.bias"] = T(w),
            ["attn_layers.0.c_proj.weight"] = T(w, w), ["attn_layers.0.c_proj.bias"] = T(w),
        });
        File.WriteAllText(Path.Combine(dir, "conf.yaml"), """
            llm:
              dimin: 16
            sae:
              exp_factor: 2
              n_heads: 2
              n_attn_layers: 1
              bottleneck_factor: 8
              sae_diff_type: topk
              kval_topk: 4
              tied_weights: true
            """);
    }

    [Fact]
    public void A_measure_that_needs_non_negative_codes_given_a_temporal_SAEs_pred_is_one_error_naming_it_and_the_list_without_it()
    {
        WriteTemporalSae("saes/temporal");
        var saes = Saes + "\n  - name: temporal\n    path: saes/temporal\n    model: tiny-a\n    site: blocks.1.hook_resid_post";
        var yaml = Job("  - name: feats\n    kind: features\n    sites: sae\n", saes);
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "sites: sae")}:12: analyses[0]: kind 'features' needs non-negative codes, but SAE site "
            + "'blocks.1.hook_resid_post/sae/temporal/pred' (output pred of temporal SAE 'temporal') can be negative; "
            + "expected sites: [blocks.1.hook_resid_post/sae/sae-a, blocks.1.hook_resid_post/sae/sae-b, blocks.1.hook_resid_post/sae/temporal/novel] "
            + "(every SAE code site but the signed ones)", Assert.Single(_dir.Errors(yaml)));
        const string list = "[blocks.1.hook_resid_post/sae/sae-a, blocks.1.hook_resid_post/sae/sae-b, blocks.1.hook_resid_post/sae/temporal/novel]";
        var listed = _dir.Parse(Job($"  - name: feats\n    kind: features\n    sites: {list}\n", saes));
        Assert.Equal(["blocks.1.hook_resid_post/sae/sae-a", "blocks.1.hook_resid_post/sae/sae-b", "blocks.1.hook_resid_post/sae/temporal/novel"],
            SitePairing.Sites(listed, listed.Analyses.Single()).Select(s => s.Site).Order());
        // Measures exact on signed codes take every output, pred included.
        var correlation = _dir.Parse(Job("  - name: corr\n    kind: correlation\n    sites: sae\n", saes));
        Assert.Contains(SitePairing.Pairs(correlation, correlation.Analyses.Single()), p => p.B.Site.EndsWith("/temporal/pred"));
    }

    [Fact]
    public void Feature_matching_at_prompt_level_turns_its_token_filters_off_unless_the_job_writes_them()
    {
        var defaults = _dir.Parse(Job("  - name: fm\n    kind: feature_matching\n    level: prompt\n")).Analyses.Single();
        var p = Assert.IsType<FeatureMatchingParameters>(defaults.Parameters);
        Assert.Empty(p.NonConceptTokens);
        Assert.False(p.SharedTopToken);
        var atTokens = Assert.IsType<FeatureMatchingParameters>(_dir.Parse(Job("  - name: fm\n    kind: feature_matching\n")).Analyses.Single().Parameters);
        Assert.NotEmpty(atTokens.NonConceptTokens);   // token level keeps the default filter

        var yaml = Job("""
              - name: fm
                kind: feature_matching
                level: prompt
                non_concept_tokens: [".", ","]
            """);
        Assert.Equal($"jobs.yaml:{LineOf(yaml, "non_concept_tokens")}:25: analyses[0].non_concept_tokens filters features by the tokens of their top activations, "
            + "but a prompt-level row is a prompt, not a token; expected non_concept_tokens: [] (filter off) at level: prompt", Assert.Single(_dir.Errors(yaml)));
        var shared = Job("  - name: fm\n    kind: feature_matching\n    level: prompt\n    shared_top_token: true\n");
        Assert.Equal($"jobs.yaml:{LineOf(shared, "shared_top_token")}:23: analyses[0].shared_top_token compares the tokens of the features' top activations, "
            + "but a prompt-level row is a prompt, not a token; expected shared_top_token: false at level: prompt", Assert.Single(_dir.Errors(shared)));
        var analysis = _dir.Parse(Job("  - name: fm\n    kind: feature_matching\n    level: prompt\n    reduce: mean\n")).Analyses.Single();
        Assert.Equal((AnalysisLevel.Prompt, Sweep.Analysis.Concepts.Reduction.Mean), (analysis.Level, analysis.Reduce));
    }

    [Fact]
    public void Feature_matching_parameters_out_of_range_are_errors_at_their_keys()
    {
        var yaml = Job("""
              - name: fm
                kind: feature_matching
                hungarian: yes
                min_correlation: 2
                non_concept_tokens: 3
                permutations: 0
              - name: corr
                kind: correlation
                sites: sae
                permutations: 5
            """);
        var errors = _dir.Errors(yaml);
        Assert.Equal(5, errors.Count);
        Assert.Contains($"jobs.yaml:{LineOf(yaml, "hungarian: yes")}:16: analyses[0].hungarian is 'yes', expected true or false", errors);
        Assert.Contains($"jobs.yaml:{LineOf(yaml, "min_correlation: 2")}:22: analyses[0].min_correlation is '2', expected a number in [-1, 1]", errors);
        Assert.Contains(errors, e => e.StartsWith($"jobs.yaml:{LineOf(yaml, "non_concept_tokens: 3")}:25: analyses[0].non_concept_tokens is ", StringComparison.Ordinal) && e.EndsWith("expected a list of token texts", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith($"jobs.yaml:{LineOf(yaml, "permutations: 0")}:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith($"jobs.yaml:{LineOf(yaml, "permutations: 5")}:5: analyses[1].permutations is not a parameter of kind 'correlation'", StringComparison.Ordinal));
    }
}
