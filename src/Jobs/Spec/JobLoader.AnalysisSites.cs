using Sweep.Analysis.Concepts;
using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>
/// What an analysis reads (its <c>sites</c>: dense hook points, every SAE code site, or a list of SAE outputs) and at
/// which level (<c>level: token</c>, or <c>level: prompt</c> with <c>reduce</c>), and whether its measure can take them.
/// </summary>
public static partial class JobLoader
{
    private const string SitesExpected = "dense, sae, or a list of SAE outputs (NAME or NAME/OUTPUT of the saes and train_sae sections)";
    private static readonly Dictionary<string, AnalysisLevel> LevelChoices = new() { ["token"] = AnalysisLevel.Token, ["prompt"] = AnalysisLevel.Prompt };
    private static readonly Dictionary<string, Reduction> PromptReductions = new() { ["last"] = Reduction.Last, ["mean"] = Reduction.Mean };

    /// <summary>An analysis's level: rows are tokens, or prompts reduced by <see cref="Reduce"/>.</summary>
    private readonly record struct LevelChoice(AnalysisLevel Level, Reduction Reduce);

    /// <summary>
    /// <c>sites</c>: <c>dense</c>, <c>sae</c> (every SAE code site), or a list of SAE outputs (read as <c>sae</c> with the
    /// entries and their nodes, checked against the SAEs later); (null, null) when absent or after reporting an error.
    /// </summary>
    private static (AnalysisSites? Sites, List<(string Text, YamlNode Node)>? Selection) ReadSites(YamlSection a, ErrorSink errors)
    {
        if (a["sites"] is not { } node) return (null, null);
        if (node is YamlScalarNode { Value: "dense" }) return (AnalysisSites.Dense, null);
        if (node is YamlScalarNode { Value: "sae" }) return (AnalysisSites.Sae, null);
        if (node is YamlSequenceNode { Children.Count: > 0 } list)
        {
            var entries = new List<(string, YamlNode)>();
            for (int i = 0; i < list.Children.Count; i++)
            {
                if (errors.String(list.Children[i], $"{a.KeyPath("sites")}[{i}]", "an SAE output: NAME or NAME/OUTPUT (e.g. my-sae or my-temporal-sae/novel)") is not { } text)
                    return (null, null);
                entries.Add((text, list.Children[i]));
            }
            return (AnalysisSites.Sae, entries);
        }
        var hint = node is YamlScalarNode { Value: { } t } && Suggest.Closest(t, ["dense", "sae"]) is { } close ? $"; did you mean '{close}'?" : "";
        errors.At(node, $"{a.KeyPath("sites")} is {(node is YamlSequenceNode ? "an empty list" : ErrorSink.Describe(node))}, expected {SitesExpected}{hint}");
        return (null, null);
    }

    /// <summary>
    /// The SAE code sites of an analysis with <c>sites: sae</c> or a list: each list entry names some SAE output, once;
    /// and a measure that needs non-negative codes is given no site whose codes can be negative. Errors at the entry, or
    /// at <c>sites</c> (<c>kind</c> when absent) naming the site and why.
    /// </summary>
    private static bool CheckSaeSites(YamlSection a, string path, AnalysisSpec analysis, List<(string Text, YamlNode Node)>? selection,
        (List<SaeSpec> Published, List<TrainSaeSpec> Trained) saes, ErrorSink errors)
    {
        var all = SitePairing.SaeSites(saes.Published, saes.Trained);
        int before = errors.Errors.Count;
        var chosen = new List<SaeSite>();
        for (int i = 0; i < (selection?.Count ?? 0); i++)
        {
            var (entry, node) = selection![i];
            var entryPath = $"{a.KeyPath("sites")}[{i}] '{entry}'";
            if (SitePairing.Select(entry, all) is not { } named)
            {
                errors.At(node, $"{entryPath}: {Unnamed(entry, all)}");
                continue;
            }
            if (named.FirstOrDefault(chosen.Contains) is { } again)
            {
                int first = selection.FindIndex(e => SitePairing.Select(e.Text, all)?.Contains(again) == true);
                errors.At(node, $"{entryPath} names {again.Selector}, already chosen by {a.KeyPath("sites")}[{first}] '{selection[first].Text}', expected each SAE output once");
                continue;
            }
            chosen.AddRange(named);
        }
        if (errors.Errors.Count > before) return false;
        if (selection is null) chosen = [.. all];

        var measure = analysis.Measure;
        if (measure.Data == SiteData.Sparse && !measure.TakesSignedCodes && chosen.Where(s => s.Signed).ToList() is { Count: > 0 } signed)
        {
            var unsigned = chosen.Where(s => !s.Signed).Select(s => s.Selector).Distinct().ToList();
            var site = signed[0];
            errors.At(a["sites"] ?? a["kind"]!, $"{path}: kind '{analysis.Kind}' needs non-negative codes, but SAE site '{site.Ref.Site}' "
                + $"(output {site.Codes} of temporal SAE '{site.Name}') can be negative"
                + (signed.Count > 1 ? $", and so can {string.Join(", ", signed.Skip(1).Select(s => $"'{s.Ref.Site}'"))}" : "")
                + (unsigned.Count > 0 ? $"; expected sites: [{string.Join(", ", unsigned)}] (every SAE output but the signed ones)" : "; expected sites without a temporal SAE's pred output"));
            return false;
        }
        return true;
    }

    /// <summary>Why a <c>sites</c> entry names no SAE output, with the nearest valid entry.</summary>
    private static string Unnamed(string entry, IReadOnlyList<SaeSite> all)
    {
        int slash = entry.IndexOf('/');
        string name = slash < 0 ? entry : entry[..slash];
        var choices = all.Select(s => s.Name).Distinct().Concat(all.Where(s => s.Codes != Models.Saes.SaeOutputs.Codes).Select(s => s.Selector)).ToList();
        var hint = Suggest.Closest(entry, choices) is { } close ? $"; did you mean '{close}'?" : "";
        var ofName = all.Where(s => s.Name == name).ToList();
        if (ofName.Count == 0)
            return $"is not an SAE of the saes or train_sae sections, expected one of: {string.Join(", ", choices)}{hint}";
        return ofName.Count == 1
            ? $"SAE '{name}' has one output, expected '{name}' (its {ofName[0].Codes})"
            : $"SAE '{name}' has no output '{entry[(slash + 1)..]}', expected {OrList(ofName.Select(s => s.Selector))} (or '{name}' for all of them){hint}";
    }

    /// <summary>
    /// The level of a pair analysis: <c>level</c> (token | prompt) and, at prompt level, <c>reduce</c> (last | mean);
    /// a prompt-level measure must not read token ids (<see cref="Measure.ReadsTokens"/>). One-site measures have no
    /// level (their keys are the measure's own). Null after reporting an error.
    /// </summary>
    private static LevelChoice? ReadLevel(YamlSection a, Measure measure, MeasureParameters parameters, ErrorSink errors)
    {
        if (measure.Arity != Arity.Pair) return new LevelChoice(AnalysisLevel.Token, Reduction.Last);
        var level = a.Choice("level", LevelChoices);
        if (a["level"] is not null && level is null) return null;
        if (a["reduce"] is { } reduceNode && level != AnalysisLevel.Prompt)
        {
            errors.At(reduceNode, $"{a.KeyPath("reduce")} says how a prompt becomes one row, but the analysis is at level token, expected level: prompt beside it (or no reduce)");
            return null;
        }
        var reduce = a.Choice("reduce", PromptReductions);
        if (a["reduce"] is not null && reduce is null) return null;
        if (level == AnalysisLevel.Prompt && measure.ReadsTokens(parameters) is { } problem)
        {
            errors.At(a[problem.Key] ?? a["level"]!, $"{a.KeyPath(problem.Key)} {problem.Message}");
            return null;
        }
        return new LevelChoice(level ?? AnalysisLevel.Token, reduce ?? Reduction.Last);
    }
}
