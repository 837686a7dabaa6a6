namespace Sweep.Models.Saes;

/// <summary>How an SAE turns pre-activations into codes.</summary>
public enum SaeArchitecture
{
    /// <summary>codes = ReLU(pre).</summary>
    Standard,
    /// <summary>codes = ReLU of the k largest pre-activations, zero elsewhere.</summary>
    TopK,
    /// <summary>codes = pre where pre &gt; threshold (per feature), else 0 (Gemma Scope).</summary>
    JumpRelu,
    /// <summary>Temporal SAE: attention over earlier tokens' codes gives predicted codes; the rest is encoded as novel codes.</summary>
    Temporal,
}

/// <summary>SAELens' run-time input normalisation (<c>normalize_activations</c>).</summary>
public enum SaeNormalization
{
    None,
    /// <summary>Training-time scaling only; SAELens folds the factor into the weights, so inference leaves inputs as they are.</summary>
    ExpectedAverageOnlyIn,
    /// <summary>x * sqrt(d_in)/||x|| on the way in, the inverse on the way out (per token).</summary>
    ConstantNormRescale,
    /// <summary>(x - mean)/(std + 1e-5) per token on the way in (std unbiased), x*std + mean on the way out.</summary>
    LayerNorm,
}

/// <summary>On-disk layouts Sweep reads.</summary>
public enum SaeFormat
{
    SaeLens,
    Sparsify,
    Temporal,
    /// <summary>Gemma Scope's <c>params.npz</c> (JumpReLU, numpy arrays).</summary>
    GemmaScope,
    /// <summary>A PyTorch <c>.pt</c>/<c>.pth</c> state dict (SAELens-like or nn.Linear names).</summary>
    PyTorch,
}

/// <summary>What an SAE is, read from its folder's config. See docs/saes.md.</summary>
public sealed record SaeConfig
{
    public required SaeFormat Format { get; init; }
    public required SaeArchitecture Architecture { get; init; }
    public required int DIn { get; init; }
    public required int DSae { get; init; }
    /// <summary>k of TopK (also of a temporal SAE with TopK novel codes); null otherwise.</summary>
    public int? K { get; init; }
    /// <summary>TransformerLens hook the SAE was trained on, when the config says (SAELens <c>hook_name</c>).</summary>
    public string? HookName { get; init; }
    /// <summary>Model the SAE was trained on, when the config says.</summary>
    public string? ModelName { get; init; }
    public bool ApplyBDecToInput { get; init; } = true;
    public SaeNormalization Normalization { get; init; } = SaeNormalization.None;
    /// <summary>Storage dtype of the weights: float32, float16 or bfloat16. Sweep computes in float32.</summary>
    public string Dtype { get; init; } = "float32";
    /// <summary>Neuronpedia id (for feature links in reports), when the SAE has one.</summary>
    public string? NeuronpediaId { get; init; }
    /// <summary>
    /// Activations are multiplied by this before encoding and reconstructions divided by it (a temporal SAE's
    /// <c>sae.scaling_factor</c>); 1 for every other format.
    /// </summary>
    public double ScalingFactor { get; init; } = 1.0;

    public string ArchitectureName => Names.Of(Architecture);

    public static class Names
    {
        public static string Of(SaeArchitecture a) => a switch
        {
            SaeArchitecture.TopK => "topk",
            SaeArchitecture.JumpRelu => "jumprelu",
            SaeArchitecture.Temporal => "temporal",
            _ => "standard",
        };

        public static string Of(SaeNormalization n) => n switch
        {
            SaeNormalization.ExpectedAverageOnlyIn => "expected_average_only_in",
            SaeNormalization.ConstantNormRescale => "constant_norm_rescale",
            SaeNormalization.LayerNorm => "layer_norm",
            _ => "none",
        };
    }
}

/// <summary>
/// What a job says about an SAE whose files do not: the architecture, TopK's k and (for SAELens-named tensors)
/// whether b_dec is subtracted from the input, of a PyTorch state dict saved without a <c>cfg.json</c> (job keys
/// <c>saes[i].architecture</c>, <c>saes[i].k</c>, <c>saes[i].apply_b_dec_to_input</c>).
/// </summary>
public sealed record SaeJobSettings(SaeArchitecture? Architecture = null, int? K = null, bool? ApplyBDecToInput = null)
{
    public bool IsEmpty => Architecture is null && K is null && ApplyBDecToInput is null;

    /// <summary>One canonical line, part of the SAE's digest (the settings change the codes).</summary>
    public string Text => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"architecture={(Architecture is { } a ? SaeConfig.Names.Of(a) : "")},k={K},apply_b_dec_to_input={(ApplyBDecToInput is { } b ? (b ? "true" : "false") : "")}");
}

/// <summary>An SAE folder that cannot be used. The message is one line naming the file and what was expected.</summary>
public sealed class SaeLoadException(string message, Exception? inner = null) : Exception(message, inner);
