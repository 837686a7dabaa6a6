using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Planning;

/// <summary>Which captured sites a pairwise analysis compares.</summary>
public static class SitePairing
{
    /// <summary>
    /// Unordered pairs of distinct captured sites, each once, in capture order: A is the site listed first
    /// (models in capture order, sites in the order written).
    /// </summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(IReadOnlyList<CaptureSpec> captures, SitePairs pairs)
    {
        var sites = captures.SelectMany(c => c.Sites.Select(s => new SiteRef(c.Model, s))).ToList();
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
