using System.Text.RegularExpressions;

namespace Sweep.Cli.Reports;

/// <summary>
/// Orders hook points as they sit in the residual stream: <c>hook_embed</c>, then block by block
/// (<c>resid_pre</c>, <c>attn_out</c>, <c>resid_mid</c>, <c>mlp_out</c>, <c>resid_post</c>), then <c>ln_final</c>.
/// SAE code sites (<c>{hook}/sae/{name}</c>) sort with their hook, then by the rest of the name.
/// Anything unknown goes last, by name.
/// </summary>
public sealed partial class SiteOrder : IComparer<string>
{
    public static readonly SiteOrder Instance = new();

    private static readonly string[] WithinBlock = ["hook_resid_pre", "hook_attn_out", "hook_resid_mid", "hook_mlp_out", "hook_resid_post"];

    public int Compare(string? x, string? y)
    {
        var (hookX, restX) = Split(x ?? "");
        var (hookY, restY) = Split(y ?? "");
        int byPlace = Place(hookX).CompareTo(Place(hookY));
        if (byPlace != 0) return byPlace;
        int byHook = string.CompareOrdinal(hookX, hookY);
        return byHook != 0 ? byHook : string.CompareOrdinal(restX, restY);
    }

    /// <summary>The hook point and whatever follows it (an SAE suffix, or "").</summary>
    private static (string Hook, string Suffix) Split(string site)
    {
        int slash = site.IndexOf('/');
        return slash < 0 ? (site, "") : (site[..slash], site[slash..]);
    }

    /// <summary>(layer, position in the block): embed is (-1, 0), ln_final (int.MaxValue - 1, 0), unknown names last.</summary>
    private static (int Layer, int Position) Place(string hook)
    {
        if (hook == "hook_embed") return (-1, 0);
        if (hook.StartsWith("ln_final", StringComparison.Ordinal)) return (int.MaxValue - 1, 0);
        var match = BlockHook().Match(hook);
        if (!match.Success) return (int.MaxValue, 0);
        int position = Array.IndexOf(WithinBlock, match.Groups[2].Value);
        return (int.Parse(match.Groups[1].Value), position < 0 ? WithinBlock.Length : position);
    }

    [GeneratedRegex(@"^blocks\.(\d+)\.(.+)$")]
    private static partial Regex BlockHook();
}
