using System.Text.Json;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Saes;

/// <summary>
/// Writes a standard, TopK or JumpReLU SAE as a SAELens (v6 layout) folder: <c>cfg.json</c> with the keys
/// SAELens' <c>SAEConfig.to_dict()</c> writes (metadata nested under <c>metadata</c>) and
/// <c>sae_weights.safetensors</c> with <c>W_enc</c>, <c>b_enc</c>, <c>W_dec</c>, <c>b_dec</c> (+ <c>threshold</c>),
/// stored in the config's dtype. <c>SAE.load_from_disk(folder)</c> in SAELens reads it.
/// </summary>
public static class SaeLensWriter
{
    /// <summary>Training facts SAELens keeps in <c>metadata</c> (all optional).</summary>
    public sealed record TrainingMetadata(int? ContextSize = null, string? DatasetPath = null, bool PrependBos = true);

    public static void Save(SparseAutoencoder sae, string directory, TrainingMetadata? training = null)
    {
        var c = sae.Config;
        training ??= new TrainingMetadata();
        Directory.CreateDirectory(directory);
        var dtype = c.Dtype switch { "float16" => SafeTensorDtype.F16, "bfloat16" => SafeTensorDtype.BF16, _ => SafeTensorDtype.F32 };
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>
        {
            ["W_enc"] = (sae.WEnc, [c.DIn, c.DSae]),
            ["b_enc"] = (sae.BEnc, [c.DSae]),
            ["W_dec"] = (sae.WDec, [c.DSae, c.DIn]),
            ["b_dec"] = (sae.BDec, [c.DIn]),
        };
        if (sae.Threshold is { } threshold) tensors["threshold"] = (threshold, [c.DSae]);
        SafeTensors.Write(Path.Combine(directory, SaeLoader.SaeLensWeights), tensors, dtype);

        var cfg = new Dictionary<string, object?>
        {
            ["architecture"] = c.ArchitectureName,
            ["d_in"] = c.DIn,
            ["d_sae"] = c.DSae,
            ["dtype"] = c.Dtype,
            ["device"] = "cpu",
            ["apply_b_dec_to_input"] = c.ApplyBDecToInput,
            ["normalize_activations"] = SaeConfig.Names.Of(c.Normalization),
            ["reshape_activations"] = "none",
        };
        if (c.Architecture == SaeArchitecture.TopK)
        {
            cfg["k"] = c.K;
            cfg["rescale_acts_by_decoder_norm"] = false;
        }
        cfg["metadata"] = new Dictionary<string, object?>
        {
            ["model_name"] = c.ModelName,
            ["hook_name"] = c.HookName,
            ["hook_head_index"] = null,
            ["model_class_name"] = "HookedTransformer",
            ["model_from_pretrained_kwargs"] = new Dictionary<string, object>(),
            ["prepend_bos"] = training.PrependBos,
            ["exclude_special_tokens"] = false,
            ["context_size"] = training.ContextSize,
            ["dataset_path"] = training.DatasetPath,
            ["neuronpedia_id"] = c.NeuronpediaId,
            ["seqpos_slice"] = new object?[] { null },
            ["sae_lens_training_version"] = null,
        };
        var json = JsonSerializer.SerializeToUtf8Bytes(cfg, new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.WriteAllBytes(Path.Combine(directory, SaeLoader.SaeLensConfig), json);
    }
}
