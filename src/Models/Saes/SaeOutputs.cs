namespace Sweep.Models.Saes;

/// <summary>The code outputs an SAE of each architecture writes, and which of them can be negative.</summary>
public static class SaeOutputs
{
    /// <summary>The one output of a standard, TopK or JumpReLU SAE.</summary>
    public const string Codes = "codes";

    /// <summary><c>codes</c>, or a temporal SAE's <c>novel</c> and <c>pred</c> (in that order).</summary>
    public static IReadOnlyList<string> Of(SaeArchitecture architecture) =>
        architecture == SaeArchitecture.Temporal ? [TemporalSae.NovelOutput, TemporalSae.PredOutput] : [Codes];

    /// <summary>
    /// Whether an output's codes can be negative. Standard codes are ReLU(pre), TopK codes the ReLU of the k largest
    /// pre-activations, JumpReLU codes ReLU(pre) gated by the threshold, and a temporal SAE's novel codes ReLU(λ x E)
    /// (TopK-masked or not): all ≥ 0. A temporal SAE's pred codes are Σ over its attention layers of s·p, with p ≥ 0 a
    /// ReLU but s = ⟨pD, x⟩/(‖pD‖ + ε)² of either sign: they can be negative (see <see cref="TemporalSae"/>).
    /// </summary>
    public static bool CanBeNegative(SaeArchitecture architecture, string output) =>
        architecture == SaeArchitecture.Temporal && output == TemporalSae.PredOutput;
}
