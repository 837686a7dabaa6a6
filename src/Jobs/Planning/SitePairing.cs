using Sweep.Jobs.Spec;
using Sweep.Models.Saes;

namespace Sweep.Jobs.Planning;

/// <summary>
/// The codes of one published SAE output at a captured hook: site <c>{hook}/sae/{name}</c> (plus <c>/novel</c> or
/// <c>/pred</c> for a temporal SAE), <see cref="DSae"/> features wide, written as sparse shards by the captures.
/// </summary>
public sealed record SaeSite(SiteRef Ref, SaeSpec Sae, string Codes, int DSae);

/// <summary>Which captured sites a pairwise analysis compares.</summary>
public static class SitePairing
{
    /// <summary>
    /// Unordered pairs of distinct captured sites, each once, in capture order: A is the site listed first
    /// (models in capture order, sites in the order written).
    /// </summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(IReadOnlyList<CaptureSpec> captures, SitePairs pairs) =>
        PairsOf(captures.SelectMany(c => c.Sites.Select(s => new SiteRef(c.Model, s))).ToList(), pairs);

    /// <summary>The pairs of an analysis: of captured hooks, or with <c>sites: sae</c> of the SAE code sites (in <c>saes</c> order).</summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(JobSpec spec, AnalysisSpec analysis) =>
        Pairs(spec.Captures, spec.Saes, analysis.Pairs, analysis.Sites);

    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(IReadOnlyList<CaptureSpec> captures, IReadOnlyList<SaeSpec> saes, SitePairs pairs, AnalysisSites sites) =>
        sites == AnalysisSites.Sae ? PairsOf(SaeSites(saes).Select(s => s.Ref).ToList(), pairs) : Pairs(captures, pairs);

    /// <summary>Every SAE code site of the job's published SAEs, in <c>saes</c> order (a temporal SAE gives its novel, then its pred codes).</summary>
    public static IReadOnlyList<SaeSite> SaeSites(IReadOnlyList<SaeSpec> saes) =>
        saes.SelectMany(sae => (sae.Folder.Config.Architecture == SaeArchitecture.Temporal ? new[] { "novel", "pred" } : ["codes"])
                .Select(codes => new SaeSite(new SiteRef(sae.Model, SiteOf(sae.Site, sae.Name, codes)), sae, codes, sae.Folder.Config.DSae)))
            .ToList();

    /// <summary>The SAE site <paramref name="site"/> names, or null for a dense (hook) site.</summary>
    public static SaeSite? FindSaeSite(IReadOnlyList<SaeSpec> saes, SiteRef site) =>
        site.Site.Contains("/sae/", StringComparison.Ordinal) ? SaeSites(saes).FirstOrDefault(s => s.Ref == site) : null;

    // The same spelling as Sweep.Storage.Shards.SaeIdentity.SiteOf (Jobs does not reference Storage).
    private static string SiteOf(string hook, string name, string codes) => codes == "codes" ? $"{hook}/sae/{name}" : $"{hook}/sae/{name}/{codes}";

    private static List<(SiteRef, SiteRef)> PairsOf(List<SiteRef> sites, SitePairs pairs)
    {
        var result = new List<(SiteRef, SiteRef)>();
        for (int i = 0; i < sites.Count; i++)
            for (int j = i + 1; j < sites.Count; j++)
            {
                bool sameModel = sites[i].Model == sites[j].Model;
                if (pairs == SitePairs.All || (pairs == SitePairs.Within) == sameModel)
                    result.Add((sites[i], sites[j]));
            }
        return result;
    }
}
