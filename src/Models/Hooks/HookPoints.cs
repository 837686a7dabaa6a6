namespace Sweep.Models.Hooks;

/// <summary>TransformerLens hook-point names, so users can reuse the names they already think in.</summary>
public static class HookPoints
{
    public const string Embed = "hook_embed";
    public const string FinalNormalized = "ln_final.hook_normalized";

    public static string ResidPre(int layer) => $"blocks.{layer}.hook_resid_pre";
    public static string ResidMid(int layer) => $"blocks.{layer}.hook_resid_mid";
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";
    public static string AttnOut(int layer) => $"blocks.{layer}.hook_attn_out";
    public static string MlpOut(int layer) => $"blocks.{layer}.hook_mlp_out";

    /// <summary>Every hook point of a decoder with <paramref name="layers"/> blocks, in forward order.</summary>
    public static IReadOnlyList<string> ForDecoder(int layers)
    {
        var names = new List<string> { Embed };
        for (int l = 0; l < layers; l++)
            names.AddRange([ResidPre(l), AttnOut(l), ResidMid(l), MlpOut(l), ResidPost(l)]);
        names.Add(FinalNormalized);
        return names;
    }

    /// <summary>The block index a hook point belongs to (-1 before the first block, layers for ln_final).</summary>
    public static int LayerOf(string hookPoint, int layers)
    {
        if (hookPoint == Embed) return -1;
        if (hookPoint == FinalNormalized) return layers;
        var parts = hookPoint.Split('.');
        if (parts.Length == 3 && parts[0] == "blocks" && int.TryParse(parts[1], out int layer)) return layer;
        throw new ArgumentException($"not a hook point name: {hookPoint}");
    }
}
