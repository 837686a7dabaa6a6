using Sweep.Jobs.Spec;
using Sweep.Models.Saes;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>The saes and train_sae sections: mismatches between an SAE and its site are line:col errors before any work.</summary>
public sealed class JobLoaderSaeTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public JobLoaderSaeTests()
    {
        WriteSae("saes/res1", dIn: 16, hook: "blocks.1.hook_resid_post", model: "tiny-a");
        WriteSae("saes/wide", dIn: 24, hook: "blocks.1.hook_resid_post", model: "tiny-a");
        WriteSae("saes/other-model", dIn: 16, hook: "blocks.1.hook_resid_post", model: "gpt2-small");
    }

    public void Dispose() => _dir.Dispose();

    private void WriteSae(string relative, int dIn, string hook, string model)
    {
        var config = new SaeConfig { Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = dIn, DSae = 32, K = 4, HookName = hook, ModelName = model };
        using var sae = new SparseAutoencoder(config, new float[dIn * 32], new float[32], new float[32 * dIn], new float[dIn]);
        SaeLensWriter.Save(sae, Path.Combine(_dir.Root, relative));
    }

    private static string Job(string saes) => JobDirectory.ValidJob + "\n" + saes;

    private const string Published = """
        saes:
          - name: res1
            path: saes/res1
            model: tiny-a
            site: blocks.1.hook_resid_post
        """;

    private const string Trained = """
        train_sae:
          - name: mine
            model: tiny-b
            site: blocks.1.hook_resid_post
            k: 4
        """;

    [Fact]
    public void Published_and_trained_saes_load_with_defaults()
    {
        var spec = _dir.Parse(Job(Published + "\n" + Trained));
        var sae = spec.Saes.Single();
        Assert.Equal(("res1", "tiny-a", "blocks.1.hook_resid_post", 32), (sae.Name, sae.Model, sae.Site, sae.Folder.Config.DSae));
        Assert.Equal(Path.Combine(_dir.Root, "saes", "res1"), sae.Path);
        var train = spec.TrainSaes.Single();
        Assert.Equal(JobLoader.DefaultExpansionFactor * 16, train.Options.DSae);
        Assert.Equal(4, train.Options.K);
        Assert.Equal(2000, train.Options.Steps);

        var changed = _dir.Parse(Job(Published + "\n" + Trained + "\n    steps: 10"));
        Assert.NotEqual(spec.Digest, changed.Digest);
    }

    [Fact]
    public void An_sae_of_another_width_is_an_error_at_its_path()
    {
        var errors = _dir.Errors(Job(Published.Replace("saes/res1", "saes/wide")));
        var line = JobDirectory.ValidJob.Split('\n').Length + 3;
        Assert.Equal($"jobs.yaml:{line}:11: saes[0].path: the SAE's d_in is 24 but 'tiny-a' blocks.1.hook_resid_post is 16 wide, expected an SAE trained on this site", Assert.Single(errors));
    }

    [Fact]
    public void An_sae_trained_on_another_hook_is_an_error_at_the_site()
    {
        var yaml = Job(Published.Replace("site: blocks.1.hook_resid_post", "site: blocks.0.hook_resid_post"));
        var error = Assert.Single(_dir.Errors(yaml));
        Assert.Matches(@"^jobs\.yaml:\d+:11: saes\[0\]\.site 'blocks\.0\.hook_resid_post' is not the SAE's hook_name 'blocks\.1\.hook_resid_post'", error);
    }

    [Fact]
    public void An_sae_of_another_model_is_an_error_unless_check_model_is_off()
    {
        var yaml = Job(Published.Replace("saes/res1", "saes/other-model"));
        Assert.Contains("saes[0].model 'tiny-a'", Assert.Single(_dir.Errors(yaml)));
        Assert.Contains("is not the SAE's model_name 'gpt2-small'", Assert.Single(_dir.Errors(yaml)));
        Assert.Single(_dir.Parse(yaml + "\n    check_model: false").Saes);
    }

    [Fact]
    public void An_sae_on_a_site_that_is_not_captured_is_an_error()
    {
        var yaml = Job(Trained.Replace("model: tiny-b", "model: tiny-a").Replace("blocks.1.hook_resid_post", "blocks.1.hook_mlp_out"));
        Assert.Contains("train_sae[0].site 'blocks.1.hook_mlp_out' is not captured for model 'tiny-a', expected one of: blocks.0.hook_resid_post, blocks.1.hook_resid_post",
            Assert.Single(_dir.Errors(yaml)));
    }

    [Fact]
    public void Sae_names_are_unique_across_both_sections()
    {
        var error = Assert.Single(_dir.Errors(Job(Published + "\n" + Trained.Replace("name: mine", "name: res1"))));
        Assert.Contains("train_sae[0].name 'res1' is already used", error);
    }

    [Fact]
    public void Training_settings_out_of_range_are_errors()
    {
        Assert.Contains("train_sae[0]: k must be in 1..d_sae (2)", Assert.Single(_dir.Errors(Job(Trained + "\n    d_sae: 2"))));
        Assert.Contains("train_sae[0].learning_rate is", Assert.Single(_dir.Errors(Job(Trained + "\n    learning_rate: fast"))));
        Assert.Contains("give d_sae or expansion_factor, not both", Assert.Single(_dir.Errors(Job(Trained + "\n    d_sae: 64\n    expansion_factor: 2"))));
    }

    [Fact]
    public void Checkpoint_every_defaults_to_1000_and_zero_turns_checkpoints_off()
    {
        Assert.Equal(1000, _dir.Parse(Job(Trained)).TrainSaes.Single().Options.CheckpointEvery);
        Assert.Equal(0, _dir.Parse(Job(Trained + "\n    checkpoint_every: 0")).TrainSaes.Single().Options.CheckpointEvery);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("often")]
    [InlineData("2.5")]
    public void A_checkpoint_every_that_is_not_a_non_negative_integer_is_an_error_at_its_line(string value)
    {
        var error = Assert.Single(_dir.Errors(Job(Trained + "\n    checkpoint_every: " + value)));
        Assert.Matches(@"^jobs\.yaml:\d+:\d+: train_sae\[0\]\.checkpoint_every is ", error);
        Assert.Contains("expected an integer >= 0", error);
    }

    [Fact]
    public void Checkpoint_every_changes_neither_the_job_digest_nor_the_training_key()
    {
        var spec = _dir.Parse(Job(Trained));
        var other = _dir.Parse(Job(Trained + "\n    checkpoint_every: 50"));
        Assert.Equal(50, other.TrainSaes.Single().Options.CheckpointEvery);
        Assert.Equal(spec.Digest, other.Digest);
        Assert.Equal(JobLoader.TrainingKey(spec.TrainSaes.Single().Options), JobLoader.TrainingKey(other.TrainSaes.Single().Options));
    }

    [Fact]
    public void A_folder_that_is_not_an_sae_is_an_error_at_its_path()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Root, "saes", "empty"));
        Assert.Contains("saes[0].path: ", Assert.Single(_dir.Errors(Job(Published.Replace("saes/res1", "saes/empty")))));
    }

    /// <summary>A Gemma Scope-style params.npz (float32 .npy entries as np.savez stores them; numpy itself writes them in Sweep.Models.Tests).</summary>
    private void WriteParamsNpz(string relative, int dIn, int dSae)
    {
        var path = Path.Combine(_dir.Root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var zip = System.IO.Compression.ZipFile.Open(path, System.IO.Compression.ZipArchiveMode.Create);
        foreach (var (name, shape) in new (string, int[])[] { ("W_enc", [dIn, dSae]), ("W_dec", [dSae, dIn]), ("b_enc", [dSae]), ("b_dec", [dIn]), ("threshold", [dSae]) })
        {
            using var stream = zip.CreateEntry(name + ".npy", System.IO.Compression.CompressionLevel.NoCompression).Open();
            var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({string.Join(", ", shape)}{(shape.Length == 1 ? "," : "")}), }}";
            header = header.PadRight(64 - 10 - 1) + "\n";
            stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(header));
            stream.Write(new byte[4 * shape.Aggregate(1, (a, b) => a * b)]);
        }
    }

    private const string GemmaScope = """
        saes:
          - name: scope
            path: saes/gemma-scope-2b-pt-res/layer_1/width_16k/average_l0_5
            model: tiny-a
            site: blocks.1.hook_resid_post
        """;

    [Fact]
    public void A_gemma_scope_params_npz_takes_its_hook_and_model_from_the_folder_layout()
    {
        WriteParamsNpz("saes/gemma-scope-2b-pt-res/layer_1/width_16k/average_l0_5/params.npz", dIn: 16, dSae: 32);
        Assert.Contains("saes[0].model 'tiny-a' (", Assert.Single(_dir.Errors(Job(GemmaScope))));
        Assert.Contains("is not the SAE's model_name 'gemma-2-2b'", Assert.Single(_dir.Errors(Job(GemmaScope))));

        var spec = _dir.Parse(Job(GemmaScope + "\n    check_model: false"));
        var config = spec.Saes.Single().Folder.Config;
        Assert.Equal((SaeFormat.GemmaScope, SaeArchitecture.JumpRelu, "blocks.1.hook_resid_post", false), (config.Format, config.Architecture, config.HookName, config.ApplyBDecToInput));

        var wrongSite = Job(GemmaScope.Replace("site: blocks.1.hook_resid_post", "site: blocks.0.hook_resid_post") + "\n    check_model: false");
        Assert.Contains("is not the SAE's hook_name 'blocks.1.hook_resid_post' (from the folder layout of ", Assert.Single(_dir.Errors(wrongSite)));
    }

    [Fact]
    public void An_architecture_in_the_job_for_an_sae_whose_files_give_one_is_an_error_at_its_path()
    {
        var error = Assert.Single(_dir.Errors(Job(Published + "\n    architecture: topk\n    k: 4")));
        Assert.Matches(@"^jobs\.yaml:\d+:11: saes\[0\]\.path: .*cfg\.json: the SAE's own files give its architecture \(topk\), so the job must not set architecture or k$", error);
        Assert.Contains("saes[0].architecture is 'gated', expected one of: standard, relu, topk, jumprelu",
            Assert.Single(_dir.Errors(Job(Published + "\n    architecture: gated"))));
    }

    [Fact]
    public void An_sae_on_a_model_output_is_an_error_at_its_site()
    {
        var yaml = Job(Published.Replace("blocks.1.hook_resid_post", "logits"))
            .Replace("sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post]", "sites: [blocks.0.hook_resid_post, blocks.1.hook_resid_post, logits]");
        Assert.Contains("saes[0].site 'logits' is a model output, not a hook point", Assert.Single(_dir.Errors(yaml)));
    }
}
