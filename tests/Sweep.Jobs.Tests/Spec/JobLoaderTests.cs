using Sweep.Analysis.Measures;
using Sweep.Jobs.Spec;
using Xunit;

namespace Sweep.Jobs.Tests.Spec;

public sealed class JobLoaderTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public void Dispose() => _dir.Dispose();

    private string Only(string yaml)
    {
        var errors = _dir.Errors(yaml);
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        return errors[0];
    }

    [Fact]
    public void Valid_job_loads_with_paths_resolved_and_defaults_filled()
    {
        var spec = _dir.Parse(JobDirectory.ValidJob);
        Assert.Equal(1, spec.Version);
        Assert.Equal("demo", spec.Name);
        Assert.Equal(Path.Combine(_dir.Root, "corpus.txt"), spec.Corpus.Path);
        Assert.Equal(CorpusFormat.Txt, spec.Corpus.Format);
        Assert.Equal(16, spec.Corpus.MaxTokens);
        Assert.Equal(4, spec.Corpus.SequencesPerShard);
        Assert.Equal("tiny-a", spec.Corpus.Tokenizer);
        Assert.Null(spec.Corpus.MaxDocuments);
        Assert.Equal(["tiny-a", "tiny-b"], spec.Models.Select(m => m.Name));
        Assert.Equal(Path.Combine(_dir.Root, "models", "tiny-b"), spec.Model("tiny-b").Path);
        Assert.Equal(2, spec.Model("tiny-a").Descriptor.NumLayers);
        Assert.Equal(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], spec.Captures[0].Sites);
        var cka = MeasureRegistry.Find("cka", SiteData.Dense)!;
        var analysis = spec.Analyses.Single();
        Assert.Equal(new AnalysisSpec { Name = "layer-cka", Measure = cka, Parameters = cka.Defaults, Pairs = SitePairs.All, Marks = analysis.Marks }, analysis);
        Assert.Equal((19, 11), analysis.Marks["kind"]);
        Assert.Equal(new ExecutionSpec { Device = "cpu", Dtype = ActivationDtype.Float32, BatchSize = 4, Workers = 1 }, spec.Execution);
        Assert.Equal(Path.Combine(_dir.Root, "out", "store"), spec.Output.Store);
        Assert.Null(spec.Output.Database);
        Assert.Equal("jobs.yaml", spec.File);
        Assert.Equal(JobDirectory.ValidJob, spec.SourceText);
        Assert.Matches("^[0-9a-f]{64}$", spec.Digest);
    }

    [Fact]
    public void Minimal_job_gets_documented_defaults()
    {
        var spec = _dir.Parse("""
            version: 1
            name: minimal
            corpus: {path: corpus.txt}
            models: [{name: m, path: models/tiny-a}]
            captures: [{model: m, sites: [hook_embed]}]
            """);
        Assert.Equal(CorpusSpec.DefaultMaxTokens, spec.Corpus.MaxTokens);
        Assert.Equal(CorpusSpec.DefaultSequencesPerShard, spec.Corpus.SequencesPerShard);
        Assert.Empty(spec.Analyses);
        Assert.Equal(new ExecutionSpec(), spec.Execution);
        Assert.Equal("auto", spec.Execution.Device);
        Assert.Equal(Path.Combine(_dir.Root, ".sweep", "store"), spec.Output.Store);
    }

    [Fact]
    public void Digest_ignores_comments_and_layout_but_not_settings()
    {
        var a = _dir.Parse(JobDirectory.ValidJob);
        var b = _dir.Parse("# a comment\n" + JobDirectory.ValidJob.Replace("sites: [blocks.1.hook_resid_post]", "sites:\n      - blocks.1.hook_resid_post"));
        var c = _dir.Parse(JobDirectory.ValidJob.Replace("batch_size: 4", "batch_size: 5"));
        Assert.Equal(a.Digest, b.Digest);
        Assert.NotEqual(a.Digest, c.Digest);
    }

    [Fact]
    public void Load_resolves_paths_against_the_job_files_directory_and_reports_the_path_as_given()
    {
        var jobFile = _dir.File("jobs.yaml", JobDirectory.ValidJob);
        var spec = JobLoader.Load(jobFile);
        Assert.Equal(Path.Combine(_dir.Root, "corpus.txt"), spec.Corpus.Path);
        Assert.Equal(jobFile, spec.File);

        var bad = _dir.File("bad.yaml", "version: 2\n" + string.Join("\n", JobDirectory.ValidJob.Split('\n').Skip(1)));
        var e = Assert.Throws<JobValidationException>(() => JobLoader.Load(bad));
        Assert.Equal($"{bad}:1:10: version is 2, expected 1 (the only job version this Sweep reads)", e.Errors.Single().ToString());
    }

    [Fact]
    public void Missing_job_file_is_one_line_naming_it()
    {
        var e = Assert.Throws<JobValidationException>(() => JobLoader.Load("no/such/jobs.yaml"));
        Assert.StartsWith("no/such/jobs.yaml: job file not found", e.Message);
    }

    [Fact]
    public void Unknown_key_suggests_the_closest_known_key()
    {
        var yaml = JobDirectory.ValidJob.Replace("  max_tokens: 16", "  max_token: 16");
        Assert.Equal("jobs.yaml:5:3: unknown key 'corpus.max_token', expected one of: path, format, max_tokens, sequences_per_shard, tokenizer, max_documents, labels, invalid_utf8; did you mean 'max_tokens'?", Only(yaml));
    }

    [Fact]
    public void Unknown_top_level_key_is_reported_at_the_key()
    {
        var yaml = JobDirectory.ValidJob + "\nanalysis: []";
        Assert.Equal("jobs.yaml:25:1: unknown key 'analysis', expected one of: version, name, corpus, models, captures, analyses, execution, output, saes, train_sae; did you mean 'analyses'?", Only(yaml));
    }

    [Fact]
    public void Wrong_type_names_the_key_the_value_and_the_expected_type()
    {
        var yaml = JobDirectory.ValidJob.Replace("max_tokens: 16", "max_tokens: lots");
        Assert.Equal("jobs.yaml:5:15: corpus.max_tokens is 'lots', expected a positive integer (tokens per sequence)", Only(yaml));
        yaml = JobDirectory.ValidJob.Replace("  - name: tiny-a\n    path: models/tiny-a", "  - name: tiny-a\n    path: [models/tiny-a]");
        Assert.Equal("jobs.yaml:9:11: models[0].path is a list, expected the path of a Hugging Face model directory (config.json + model.safetensors)", Only(yaml));
        yaml = JobDirectory.ValidJob.Replace("corpus:\n  path: corpus.txt\n  max_tokens: 16\n  sequences_per_shard: 4", "corpus: corpus.txt\n\n\n");
        Assert.Equal("jobs.yaml:3:9: corpus is 'corpus.txt', expected a mapping with keys: path, format, max_tokens, sequences_per_shard, tokenizer, max_documents, labels, invalid_utf8", Only(yaml));
    }

    [Fact]
    public void Missing_required_key_is_reported_at_its_mapping()
    {
        var yaml = JobDirectory.ValidJob.Replace("name: demo\n", "");
        Assert.Equal("jobs.yaml:1:1: missing key 'name', expected a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)", Only(yaml));
        yaml = JobDirectory.ValidJob.Replace("  - model: tiny-b\n    sites: [blocks.1.hook_resid_post]", "  - model: tiny-b");
        Assert.Equal("jobs.yaml:15:5: missing key 'captures[1].sites', expected a list of hook-point names such as blocks.0.hook_resid_post", Only(yaml));
    }

    [Fact]
    public void Missing_corpus_file_is_reported_at_its_path()
    {
        var yaml = JobDirectory.ValidJob.Replace("path: corpus.txt", "path: nowhere.txt");
        Assert.Equal("jobs.yaml:4:9: corpus.path 'nowhere.txt' is not a file, expected the path of the corpus file (.txt or .jsonl) relative to the job file", Only(yaml));
    }

    [Fact]
    public void Unknown_corpus_extension_needs_a_format()
    {
        _dir.File("corpus.csv", "a,b\n");
        var yaml = JobDirectory.ValidJob.Replace("path: corpus.txt", "path: corpus.csv");
        Assert.Equal("jobs.yaml:4:9: corpus.path 'corpus.csv': cannot tell the format from the extension, expected a .txt or .jsonl file or corpus.format: txt|jsonl", Only(yaml));
        Assert.Equal(CorpusFormat.Txt, _dir.Parse(yaml.Replace("path: corpus.csv", "path: corpus.csv\n  format: txt")).Corpus.Format);
    }

    [Fact]
    public void Missing_model_directory_and_broken_model_are_reported_at_the_path()
    {
        var yaml = JobDirectory.ValidJob.Replace("path: models/tiny-b", "path: models/absent");
        Assert.Equal("jobs.yaml:11:11: models[1].path 'models/absent' is not a directory, expected a Hugging Face model directory (config.json + model.safetensors)", Only(yaml));

        Directory.CreateDirectory(Path.Combine(_dir.Root, "models", "empty"));
        yaml = JobDirectory.ValidJob.Replace("path: models/tiny-b", "path: models/empty");
        var error = Only(yaml);
        Assert.StartsWith("jobs.yaml:11:11: models[1].path: ", error);
        Assert.Contains("config.json: file not found", error);
    }

    [Fact]
    public void Hook_point_the_model_lacks_is_reported_at_the_site_with_a_suggestion()
    {
        var yaml = JobDirectory.ValidJob.Replace("sites: [blocks.1.hook_resid_post]", "sites: [blocks.2.hook_resid_post]");
        Assert.Equal("jobs.yaml:16:13: captures[1].sites[0] 'blocks.2.hook_resid_post' is not a hook point of model 'tiny-b' (2 layers), expected hook_embed, blocks.{0..1}.{hook_resid_pre, hook_attn_out, hook_resid_mid, hook_mlp_out, hook_resid_post}, ln_final.hook_normalized, or the outputs logits and log_probs_next; did you mean 'blocks.0.hook_resid_post'?", Only(yaml));
    }

    [Fact]
    public void Capture_of_an_unknown_model_is_reported_with_the_known_ones()
    {
        var yaml = JobDirectory.ValidJob.Replace("  - model: tiny-b", "  - model: tiny-c");
        Assert.Equal("jobs.yaml:15:12: captures[1].model 'tiny-c' is not a model of this job, expected one of: tiny-a, tiny-b; did you mean 'tiny-a'?", Only(yaml));
    }

    [Fact]
    public void Duplicate_model_names_and_sites_are_reported_at_the_second_occurrence()
    {
        var yaml = JobDirectory.ValidJob.Replace("  - name: tiny-b\n", "  - name: tiny-a\n")
            .Replace("  - model: tiny-b\n    sites: [blocks.1.hook_resid_post]\n", "")
            .Replace("sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]", "sites: [blocks.0.hook_resid_post, blocks.0.hook_resid_post]");
        Assert.Equal(
        [
            "jobs.yaml:10:11: models[1].name 'tiny-a' is already used at line 8, expected unique model names",
            "jobs.yaml:14:39: captures[0].sites[1] 'blocks.0.hook_resid_post' is already listed at line 14, expected each site once",
        ], _dir.Errors(yaml));
    }

    [Fact]
    public void Duplicate_analysis_and_capture_entries_are_errors()
    {
        var yaml = JobDirectory.ValidJob.Replace("execution:", "  - name: layer-cka\n    kind: cka\nexecution:")
            .Replace("  - model: tiny-b", "  - model: tiny-a");
        Assert.Equal(
        [
            "jobs.yaml:15:12: captures[1].model 'tiny-a' is already captured at line 13, expected one capture per model listing all its sites",
            "jobs.yaml:20:11: analyses[1].name 'layer-cka' is already used at line 18, expected unique analysis names",
        ], _dir.Errors(yaml));
    }

    [Fact]
    public void Bad_enum_values_list_the_choices()
    {
        Assert.Equal("jobs.yaml:19:11: analyses[0].kind is 'svca', expected one of: cka, cka_unbiased, svcca, pwcca, rsa, knn, procrustes, correlation, feature_matching, features, concept_means, contrast, selectivity, pca; did you mean 'svcca'?",
            Only(JobDirectory.ValidJob.Replace("kind: cka", "kind: svca")));
        Assert.Equal("jobs.yaml:23:10: execution.dtype is 'float64', expected one of: float32, bfloat16, float16; did you mean 'float16'?",
            Only(JobDirectory.ValidJob.Replace("  batch_size: 4", "  batch_size: 4\n  dtype: float64")));
        Assert.Equal("jobs.yaml:21:11: execution.device is 'gpu', expected auto, cpu or cuda:N (N a GPU index); did you mean 'cpu'?",
            Only(JobDirectory.ValidJob.Replace("device: cpu", "device: gpu")));
    }

    [Fact]
    public void Shard_dtype_is_read_from_output_and_joins_the_digest_only_when_not_float32()
    {
        var unset = _dir.Parse(JobDirectory.ValidJob);
        var float32 = _dir.Parse(JobDirectory.WithShardDtype("float32"));
        var float16 = _dir.Parse(JobDirectory.WithShardDtype("float16"));
        var bfloat16 = _dir.Parse(JobDirectory.WithShardDtype("bfloat16"));

        Assert.Equal(ActivationDtype.Float32, unset.Output.ShardDtype);
        Assert.Equal(ActivationDtype.Float16, float16.Output.ShardDtype);
        Assert.Equal(ActivationDtype.BFloat16, bfloat16.Output.ShardDtype);
        Assert.Equal(unset.Digest, float32.Digest);
        Assert.Equal(3, new[] { unset.Digest, float16.Digest, bfloat16.Digest }.Distinct().Count());
        Assert.Contains("output.shard_dtype: float16\n", float16.CanonicalText);
    }

    [Theory]
    [InlineData("float64", "'float64', expected one of: float32, bfloat16, float16; did you mean 'float16'?")]
    [InlineData("[float16]", "a list, expected one of: float32, bfloat16, float16")]
    public void A_bad_shard_dtype_is_one_line_with_file_position_key_and_choices(string value, string complaint) =>
        Assert.Equal($"jobs.yaml:25:16: output.shard_dtype is {complaint}", Only(JobDirectory.WithShardDtype(value)));

    [Fact]
    public void Device_accepts_cuda_with_an_index()
    {
        Assert.Equal("cuda:1", _dir.Parse(JobDirectory.ValidJob.Replace("device: cpu", "device: cuda:1")).Execution.Device);
        Assert.Equal("cuda:0", _dir.Parse(JobDirectory.ValidJob.Replace("device: cpu", "device: cuda")).Execution.Device);
    }

    [Fact]
    public void Non_positive_sizes_are_rejected()
    {
        Assert.Equal("jobs.yaml:22:15: execution.batch_size is 0, expected a positive integer (sequences per forward pass)",
            Only(JobDirectory.ValidJob.Replace("batch_size: 4", "batch_size: 0")));
        Assert.Equal("jobs.yaml:6:24: corpus.sequences_per_shard is -3, expected a positive integer (sequences per shard)",
            Only(JobDirectory.ValidJob.Replace("sequences_per_shard: 4", "sequences_per_shard: -3")));
    }

    [Fact]
    public void Max_tokens_beyond_a_models_positions_is_an_error()
    {
        Assert.Equal("jobs.yaml:5:15: corpus.max_tokens is 100, expected at most 64 (max_position_embeddings of model 'tiny-a')",
            _dir.Errors(JobDirectory.ValidJob.Replace("max_tokens: 16", "max_tokens: 100"))[0]);
    }

    [Fact]
    public void Analysis_with_no_pairs_to_compare_is_an_error()
    {
        var yaml = JobDirectory.ValidJob.Replace("    kind: cka", "    kind: cka\n    pairs: within")
            .Replace("sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]", "sites: [blocks.0.hook_resid_post]");
        Assert.Equal("jobs.yaml:20:12: analyses[0]: pairs 'within' finds no two captured sites to compare, expected a model captured at two or more sites", Only(yaml));
    }

    [Fact]
    public void Text_corpus_needs_a_tokenizer_model_with_tokenizer_files()
    {
        _dir.Model("models/no-tok", tokenizer: false);
        var yaml = JobDirectory.ValidJob.Replace("path: models/tiny-a", "path: models/no-tok");
        var error = Only(yaml);
        Assert.StartsWith("jobs.yaml:4:3: corpus: model 'tiny-a' has no tokenizer files in ", error);
        var ok = _dir.Parse(yaml.Replace("sequences_per_shard: 4", "sequences_per_shard: 4\n  tokenizer: tiny-b"));
        Assert.Equal("tiny-b", ok.Corpus.Tokenizer);
    }

    [Fact]
    public void Yaml_syntax_error_is_reported_with_its_position()
    {
        var errors = _dir.Errors("version: 1\nname: [demo\ncorpus: {path: corpus.txt}\n");
        var error = Assert.Single(errors);
        Assert.Matches(@"^jobs\.yaml:\d+:\d+: YAML syntax error: ", error);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void Duplicate_yaml_key_is_an_error_at_the_second_key()
    {
        var error = Assert.Single(_dir.Errors(JobDirectory.ValidJob.Replace("name: demo\n", "name: demo\nname: other\n")));
        Assert.StartsWith("jobs.yaml:3:1: ", error);
    }

    [Fact]
    public void Empty_file_is_one_error()
    {
        Assert.Equal("jobs.yaml:1:1: the job file is empty, expected a mapping with keys: version, name, corpus, models, captures, analyses, execution, output, saes, train_sae", Only("# nothing\n"));
    }

    [Fact]
    public void All_errors_are_reported_at_once_in_file_order()
    {
        var yaml = """
            version: 1
            nmae: demo
            corpus:
              path: missing.txt
              max_tokens: 0
            models:
              - name: tiny-a
                path: models/tiny-a
            captures:
              - model: tiny-z
                sites: [blocks.0.hook_resid_post]
              - model: tiny-a
                sites: [blocks.9.hook_mlp_out, blocks.0.hook_resid_pre]
            analyses:
              - name: x
                kind: cka
                pairs: sideways
            execution:
              workers: none
            """;
        var errors = _dir.Errors(yaml);
        Assert.Equal(
        [
            "jobs.yaml:1:1: missing key 'name', expected a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)",
            "jobs.yaml:2:1: unknown key 'nmae', expected one of: version, name, corpus, models, captures, analyses, execution, output, saes, train_sae; did you mean 'name'?",
            "jobs.yaml:4:9: corpus.path 'missing.txt' is not a file, expected the path of the corpus file (.txt or .jsonl) relative to the job file",
            "jobs.yaml:5:15: corpus.max_tokens is 0, expected a positive integer (tokens per sequence)",
            "jobs.yaml:10:12: captures[0].model 'tiny-z' is not a model of this job, expected one of: tiny-a; did you mean 'tiny-a'?",
            "jobs.yaml:13:13: captures[1].sites[0] 'blocks.9.hook_mlp_out' is not a hook point of model 'tiny-a' (2 layers), expected hook_embed, blocks.{0..1}.{hook_resid_pre, hook_attn_out, hook_resid_mid, hook_mlp_out, hook_resid_post}, ln_final.hook_normalized, or the outputs logits and log_probs_next; did you mean 'blocks.0.hook_mlp_out'?",
            "jobs.yaml:17:12: analyses[0].pairs is 'sideways', expected one of: all, across, within",
            "jobs.yaml:19:12: execution.workers is 'none', expected a positive integer (capture workers)",
        ], errors);
    }

    [Fact]
    public void Empty_value_of_a_required_key_is_reported_at_the_key()
    {
        Assert.Equal("jobs.yaml:2:6: name is empty, expected a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)",
            Only(JobDirectory.ValidJob.Replace("name: demo", "name:")));
    }

    [Fact]
    public void Broken_tokenizer_files_are_reported_before_any_work()
    {
        _dir.File("models/tiny-a/merges.txt", "#version: 0.2\nnot a merge line\n");
        var error = Only(JobDirectory.ValidJob);
        Assert.StartsWith("jobs.yaml:4:3: corpus: the tokenizer of model 'tiny-a' cannot be loaded: ", error);
        Assert.Contains("merges.txt:2: expected two space-separated symbols", error);
    }

    [Fact]
    public void A_tab_in_the_indentation_is_reported_at_the_tab_not_at_the_mapping_it_breaks()
    {
        var yaml = JobDirectory.ValidJob.Replace("  - name: tiny-b\n    path: models/tiny-b", "  - name: tiny-b\n\t  path: models/tiny-b");
        Assert.Equal("jobs.yaml:11:1: a tab in the indentation; YAML does not allow tabs for indentation, expected spaces", Only(yaml));

        var inMapping = JobDirectory.ValidJob.Replace("  device: cpu", "\tdevice: cpu");
        Assert.Equal("jobs.yaml:21:1: a tab in the indentation; YAML does not allow tabs for indentation, expected spaces", Only(inMapping));
    }

    [Fact]
    public void A_directory_given_as_the_job_file_says_so_and_names_the_yaml_files_in_it()
    {
        _dir.File("jobs.yaml", JobDirectory.ValidJob);
        var e = Assert.Throws<JobValidationException>(() => JobLoader.Load(_dir.Root));
        Assert.Equal($"{_dir.Root}: is a directory, expected a YAML job file such as {Path.Combine(_dir.Root, "jobs.yaml")} (it holds: jobs.yaml)",
            Assert.Single(e.Errors).ToString());
    }

    [Theory]
    [InlineData("postgresql://alice:s3cret@db.example:6543/results?sslmode=require", "postgresql://alice@db.example:6543/results?sslmode=require")]
    [InlineData("postgresql://alice@db/results?password=s3cret&application_name=x", "postgresql://alice@db/results?application_name=x")]
    [InlineData("Host=db;Username=alice;Password=s3cret;Database=results", "host=db;username=alice;database=results")]
    public void A_database_password_never_reaches_the_stored_job_text_or_the_digest(string connection, string shown)
    {
        var yaml = JobDirectory.ValidJob.Replace("  store: out/store", $"  store: out/store\n  database: '{connection}'  # the run's results");
        var spec = _dir.Parse(yaml);
        Assert.Equal(connection, spec.Output.Database);   // the connection itself keeps it
        Assert.DoesNotContain("s3cret", spec.SourceText);
        Assert.DoesNotContain("s3cret", spec.CanonicalText);
        Assert.Contains($"database: \"{shown}\"  # the run's results", spec.SourceText);

        // What a run stores is a job: parsed again (a resume, a cluster node) it has the same digest.
        var stored = _dir.Parse(spec.SourceText);
        Assert.Equal(spec.Digest, stored.Digest);
        Assert.Equal(shown, stored.Output.Database, ignoreCase: true);
        var other = _dir.Parse(yaml.Replace("s3cret", "different"));
        Assert.Equal(spec.Digest, other.Digest);
    }

    [Fact]
    public void A_database_without_a_password_keeps_its_text_and_digest()
    {
        var yaml = JobDirectory.ValidJob.Replace("  store: out/store", "  store: out/store\n  database: postgresql://alice@db/results");
        var spec = _dir.Parse(yaml);
        Assert.Equal(yaml, spec.SourceText);
        Assert.Contains("output.database: postgresql://alice@db/results\n", spec.CanonicalText);
    }
}
