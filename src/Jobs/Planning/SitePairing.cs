using Sweep.Identity;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;

namespace Sweep.Jobs.Planning;

/// <summary>
/// The codes of one SAE output at a captured hook: site <c>{hook}/sae/{name}</c> (plus <c>/novel</c> or <c>/pred</c> for a
/// temporal SAE), <see cref="DSae"/> features wide, written as sparse shards — by the captures for a published SAE
/// (<see cref="Published"/>), by its <c>train_sae</c> unit for a trained one (<see cref="Trained"/>).
/// </summary>
public sealed record SaeSite(SiteRef Ref, string Name, string Hook, string Codes, int DSae, SaeSpec? Published, TrainSaeSpec? Trained)
{
    /// <summary>
    /// What identifies the SAE in an analysis key: a published folder's path (and the job's <c>neuronpedia_id</c> when
    /// it sets one, since the features analysis stores it), or a trained SAE's training settings.
    /// </summary>
    public string KeyText => Published is { } p
        ? $"path={p.Path}" + (p.NeuronpediaId is { } id ? $",neuronpedia={id}" : "")
        : $"train={Trained!.Site},{JobLoader.TrainingKey(Trained.Options)}";

    /// <summary>Whether its codes can be negative (a temporal SAE's <c>pred</c> output; trained SAEs are TopK, never).</summary>
    public bool Signed => Published is { } p && SaeOutputs.CanBeNegative(p.Folder.Config.Architecture, Codes);
}

/// <summary>Which captured sites a pairwise analysis compares.</summary>
public static class SitePairing
{
    /// <summary>
    /// Unordered pairs of distinct captured sites, each once, in capture order: A is the site listed first
    /// (models in capture order, sites in the order written). The model outputs (logits, log_probs_next) are captured
    /// for export and checking only, never paired: they are not representations of the hidden width.
    /// </summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(IReadOnlyList<CaptureSpec> captures, SitePairs pairs) =>
        PairsOf(captures.SelectMany(c => c.Sites.Where(s => !Sweep.Models.Hooks.HookPoints.IsModelOutput(s)).Select(s => new SiteRef(c.Model, s))).ToList(), pairs);

    /// <summary>
    /// The sites a one-site analysis looks inside: every captured hook point (not the outputs), or with <c>sites: sae</c>
    /// every SAE code site — those of its <c>models</c> and in its <c>sites</c> list when it has them — in capture (or
    /// <c>saes</c>) order.
    /// </summary>
    public static IReadOnlyList<SiteRef> Sites(JobSpec spec, AnalysisSpec analysis) =>
        (analysis.Sites == AnalysisSites.Sae ? SaeSites(spec.Saes, spec.TrainSaes).Select(s => s.Ref).ToList() : HookSites(spec.Captures))
        .Where(s => (analysis.ModelList?.Contains(s.Model) ?? true) && (analysis.SiteList?.Contains(s.Site) ?? true)).ToList();

    /// <summary>Every captured hook point (the outputs <c>logits</c> and <c>log_probs_next</c> left out), models in capture order, sites as written.</summary>
    public static List<SiteRef> HookSites(IReadOnlyList<CaptureSpec> captures) =>
        captures.SelectMany(c => c.Sites.Where(s => !Sweep.Models.Hooks.HookPoints.IsModelOutput(s)).Select(s => new SiteRef(c.Model, s))).ToList();

    /// <summary>The pairs of an analysis: of captured hooks, or with <c>sites: sae</c> of the SAE code sites (in <c>saes</c> order, or the list's).</summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(JobSpec spec, AnalysisSpec analysis) =>
        Pairs(spec.Captures, spec.Saes, spec.TrainSaes, analysis.Pairs, analysis.Sites, analysis.SiteList, analysis.ModelList);

    /// <summary>
    /// As <see cref="Pairs(JobSpec, AnalysisSpec)"/>: <paramref name="selection"/> (null: all) the SAE code sites to pair,
    /// <paramref name="models"/> (null: all) keeps only those models' sites.
    /// </summary>
    public static IReadOnlyList<(SiteRef A, SiteRef B)> Pairs(IReadOnlyList<CaptureSpec> captures, IReadOnlyList<SaeSpec> saes,
        IReadOnlyList<TrainSaeSpec> trained, SitePairs pairs, AnalysisSites sites, IReadOnlyList<string>? selection = null, IReadOnlyList<string>? models = null) =>
        sites == AnalysisSites.Sae
            ? PairsOf(SaeSitesOf(saes, trained, selection).Select(s => s.Ref).Where(s => Takes(models, s)).ToList(), pairs)
            : models is null ? Pairs(captures, pairs) : Pairs(captures.Where(c => models.Contains(c.Model)).ToList(), pairs);

    private static bool Takes(IReadOnlyList<string>? models, SiteRef site) => models is null || models.Contains(site.Model);

    /// <summary>
    /// Every SAE code site of the job: the published SAEs in <c>saes</c> order (a temporal SAE gives its novel, then its
    /// pred codes), then the trained ones in <c>train_sae</c> order.
    /// </summary>
    public static IReadOnlyList<SaeSite> SaeSites(IReadOnlyList<SaeSpec> saes, IReadOnlyList<TrainSaeSpec> trained) =>
        saes.SelectMany(sae => SaeOutputs.Of(sae.Folder.Config.Architecture)
                .Select(codes => new SaeSite(new SiteRef(sae.Model, Keys.SaeSite(sae.Site, sae.Name, codes)), sae.Name, sae.Site, codes, sae.Folder.Config.DSae, sae, null)))
            .Concat(trained.Select(t => new SaeSite(new SiteRef(t.Model, Keys.SaeSite(t.Site, t.Name, SaeOutputs.Codes)), t.Name, t.Site, SaeOutputs.Codes, t.Options.DSae, null, t)))
            .ToList();

    /// <summary>
    /// The SAE code sites a pair analysis reads: every one (<paramref name="selection"/> null, <c>sites: sae</c>), or those
    /// its <c>sites</c> list names (<c>{hook}/sae/{name}</c>, a temporal SAE's <c>/novel</c> or <c>/pred</c>), in
    /// <c>saes</c> order.
    /// </summary>
    public static IReadOnlyList<SaeSite> SaeSitesOf(IReadOnlyList<SaeSpec> saes, IReadOnlyList<TrainSaeSpec> trained, IReadOnlyList<string>? selection) =>
        SaeSites(saes, trained).Where(s => selection?.Contains(s.Ref.Site) ?? true).ToList();

    /// <summary>The SAE site <paramref name="site"/> names, or null for a dense (hook) site.</summary>
    public static SaeSite? FindSaeSite(JobSpec spec, SiteRef site) =>
        Keys.IsSaeSite(site.Site) ? SaeSites(spec.Saes, spec.TrainSaes).FirstOrDefault(s => s.Ref == site) : null;

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
