namespace Sweep.Models.Hooks;

/// <summary>
/// TransformerLens hook-point names, so users can reuse the names they already think in, and the model's two
/// capturable outputs (not hooks in TransformerLens, where they are what the forward pass returns):
/// <c>logits</c> (vocab_size wide) and <c>log_probs_next</c> (1 wide: log P(next token | tokens so far)).
/// </summary>
public static class HookPoints
{
    public const string Embed = "hook_embed";
    public const string FinalNormalized = "ln_final.hook_normalized";

    /// <summary>The unembedding's output at every position (float32, vocab_size wide), as <c>model(tokens)</c> returns it.</summary>
    public const string Logits = "logits";

    /// <summary>
    /// log_softmax(logits)[next token] at every position that has a next token: row (seq, pos) holds
    /// log P(token at pos + 1 | tokens 0..pos). The last position of each sequence has no next token and no row.
    /// TransformerLens' <c>lm_cross_entropy_loss(per_token=True)</c> is its negative, at the same positions.
    /// </summary>
    public const string LogProbsNext = "log_probs_next";

    public static string ResidPre(int layer) => $"blocks.{layer}.hook_resid_pre";
    public static string ResidMid(int layer) => $"blocks.{layer}.hook_resid_mid";
    public static string ResidPost(int layer) => $"blocks.{layer}.hook_resid_post";
    public static string AttnOut(int layer) => $"blocks.{layer}.hook_attn_out";
    public static string MlpOut(int layer) => $"blocks.{layer}.hook_mlp_out";

    /// <summary>True for the model outputs (<see cref="Logits"/>, <see cref="LogProbsNext"/>), which are not residual-stream hooks.</summary>
    public static bool IsModelOutput(string site) => site is Logits or LogProbsNext;

    /// <summary>True when the site has no row at the last position of each sequence (<see cref="LogProbsNext"/>).</summary>
    public static bool LacksLastPosition(string site) => site == LogProbsNext;

    /// <summary>Every hook point of a decoder with <paramref name="layers"/> blocks, in forward order, then the model outputs.</summary>
    public static IReadOnlyList<string> ForDecoder(int layers)
    {
        var names = new List<string> { Embed };
        for (int l = 0; l < layers; l++)
            names.AddRange([ResidPre(l), AttnOut(l), ResidMid(l), MlpOut(l), ResidPost(l)]);
        names.AddRange([FinalNormalized, Logits, LogProbsNext]);
        return names;
    }

    /// <summary>The block index a hook point belongs to (-1 before the first block, layers for ln_final and the outputs).</summary>
    public static int LayerOf(string hookPoint, int layers)
    {
        if (hookPoint == Embed) return -1;
        if (hookPoint == FinalNormalized || IsModelOutput(hookPoint)) return layers;
        var parts = hookPoint.Split('.');
        if (parts.Length == 3 && parts[0] == "blocks" && int.TryParse(parts[1], out int layer)) return layer;
        throw new ArgumentException($"not a hook point name: {hookPoint}");
    }
}
