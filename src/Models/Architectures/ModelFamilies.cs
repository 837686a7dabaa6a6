using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using static TorchSharp.torch;

namespace Sweep.Models.Architectures;

/// <summary>Which architecture runs which config.json model_type, and the hook points each offers.</summary>
public static class ModelFamilies
{
    public static DecoderModel Load(ModelDescriptor descriptor, Device device, ScalarType dtype) => descriptor.Config.ModelType switch
    {
        "llama" or "mistral" => Llama.Load(descriptor, device, dtype),
        "gpt2" => Gpt2.Load(descriptor, device, dtype),
        "gpt_neox" => GptNeoX.Load(descriptor, device, dtype),
        "gemma2" => Gemma2.Load(descriptor, device, dtype),
        var other => throw new ModelLoadException($"{Path.Combine(descriptor.Directory, "config.json")}: model_type '{other}' is not supported, expected one of: {string.Join(", ", HfConfig.SupportedModelTypes)}"),
    };

    /// <summary>
    /// The TransformerLens hook points a model of <paramref name="config"/> defines, in forward order. A GPT-NeoX with
    /// use_parallel_residual has no blocks.{l}.hook_resid_mid (attention and MLP read the same input).
    /// </summary>
    public static IReadOnlyList<string> HookPointsOf(HfConfig config) =>
        config is { ModelType: "gpt_neox", UseParallelResidual: true }
            ? HookPoints.ForDecoder(config.NumLayers).Where(n => !n.EndsWith(".hook_resid_mid", StringComparison.Ordinal)).ToList()
            : HookPoints.ForDecoder(config.NumLayers);
}
