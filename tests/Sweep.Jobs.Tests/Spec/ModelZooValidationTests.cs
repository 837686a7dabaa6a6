using Sweep.Jobs.Spec;
using Xunit;

namespace Sweep.Jobs.Tests.Spec;

/// <summary>Validation of what depends on the model family and the device: hook points a family lacks, reduced precision on cpu.</summary>
public sealed class ModelZooValidationTests : IDisposable
{
    private readonly JobDirectory _dir = JobDirectory.Standard();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Reduced_precision_on_cpu_is_refused_naming_dtype_and_device()
    {
        var yaml = JobDirectory.ValidJob.Replace("  batch_size: 4", "  batch_size: 4\n  dtype: bfloat16");
        Assert.Equal(["jobs.yaml:23:10: execution.dtype is 'bfloat16' but execution.device is cpu, expected float32 on cpu (reduced precision runs on CUDA only: use device cuda:N or auto)"],
                     _dir.Errors(yaml));
        var cuda = _dir.Parse(yaml.Replace("device: cpu", "device: cuda:1"));
        Assert.Equal((ActivationDtype.BFloat16, "cuda:1"), (cuda.Execution.Dtype, cuda.Execution.Device));
    }

    [Fact]
    public void A_parallel_residual_gpt_neox_refuses_hook_resid_mid_and_says_why()
    {
        _dir.File("models/tiny-b/config.json", """
            {"model_type": "gpt_neox", "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 2,
             "num_attention_heads": 2, "vocab_size": 512, "max_position_embeddings": 64, "use_parallel_residual": true}
            """);
        var yaml = JobDirectory.ValidJob.Replace("sites: [blocks.1.hook_resid_post]", "sites: [blocks.1.hook_resid_mid]");
        var error = Assert.Single(_dir.Errors(yaml));
        Assert.StartsWith("jobs.yaml:16:13: captures[1].sites[0] 'blocks.1.hook_resid_mid' is not a hook point of model 'tiny-b' (2 layers), expected hook_embed, blocks.{0..1}.{hook_resid_pre, hook_attn_out, hook_mlp_out, hook_resid_post}, ln_final.hook_normalized, or the outputs logits and log_probs_next (this architecture has no hook_resid_mid: attention and MLP run in parallel)", error);
        _dir.Parse(JobDirectory.ValidJob);   // its other sites are fine
    }
}
