using Sweep.Analysis.Concepts;
using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>
/// Whether an analysis's measure can take the SAE code sites it reads (signed codes), and at which level its pairs are
/// compared (<c>level: token</c>, or <c>level: prompt</c> with <c>reduce</c>).
/// </summary>
public static partial class JobLoader
{
    private static readonly Dictionary<string, AnalysisLevel> LevelChoices = new() { ["token"] = AnalysisLevel.Token, ["prompt"] = AnalysisLevel.Prompt };
    private static readonly Dictionary<string, Reduction> PromptReductions = new() { ["last"] = Reduction.Last, ["mean"] = Reduction.Mean };

    /// <summary>An analysis's level: rows are tokens, or prompts reduced by <see cref="Reduce"/>.</summary>
    private readonly record struct LevelChoice(AnalysisLevel Level, Reduction Reduce, MeasureParameters Parameters);

    /// <summary>
    /// A measure that needs non-negative codes is given no SAE code site whose codes can be negative (a temporal SAE's
    /// <c>pred</c>): else one error at <c>sites</c> (<c>kind</c> when absent) naming the site and the list without it.
    /// </summary>
    private static bool CheckSignedCodes(YamlSection a, string path, AnalysisSpec analysis, (List<SaeSpec> Published, List<TrainSaeSpec> Trained) saes,
        ErrorSink errors)
    {
        var measure = analysis.Measure;
        if (measure.Data != SiteData.Sparse || measure.TakesSignedCodes) return true;
        var chosen = SitePairing.SaeSitesOf(saes.Published, saes.Trained, analysis.SiteList)
            .Where(s => analysis.ModelList?.Contains(s.Ref.Model) ?? true).ToList();
        if (chosen.Where(s => s.Signed).ToList() is not { Count: > 0 } signed) return true;
        var unsigned = chosen.Where(s => !s.Signed).Select(s => s.Ref.Site).Distinct().ToList();
        var site = signed[0];
        errors.At(a["sites"] ?? a["kind"]!, $"{path}: kind '{analysis.Kind}' needs non-negative codes, but SAE site '{site.Ref.Site}' "
            + $"(output {site.Codes} of temporal SAE '{site.Name}') can be negative"
            + (signed.Count > 1 ? $", and so can {string.Join(", ", signed.Skip(1).Select(s => $"'{s.Ref.Site}'"))}" : "")
            + (unsigned.Count > 0 ? $"; expected sites: [{string.Join(", ", unsigned)}] (every SAE code site but the signed ones)" : "; expected sites without a temporal SAE's pred output"));
        return false;
    }

    /// <summary>
    /// The level of a pair analysis: <c>level</c> (token | prompt) and, at prompt level, <c>reduce</c> (last | mean);
    /// a prompt-level measure must not read token ids (<see cref="Measure.ReadsTokens"/>). One-site measures have no
    /// level (their keys are the measure's own). Null after reporting an error.
    /// </summary>
    private static LevelChoice? ReadLevel(YamlSection a, Measure measure, MeasureParameters parameters, ErrorSink errors)
    {
        if (measure.Arity != Arity.Pair) return new LevelChoice(AnalysisLevel.Token, Reduction.Last, parameters);
        var level = a.Choice("level", LevelChoices);
        if (a["level"] is not null && level is null) return null;
        if (a["reduce"] is { } reduceNode && level != AnalysisLevel.Prompt)
        {
            errors.At(reduceNode, $"{a.KeyPath("reduce")} says how a prompt becomes one row, but the analysis is at level token, expected level: prompt beside it (or no reduce)");
            return null;
        }
        var reduce = a.Choice("reduce", PromptReductions);
        if (a["reduce"] is not null && reduce is null) return null;
        if (level == AnalysisLevel.Prompt) parameters = measure.AtPromptLevel(parameters, key => a[key] is not null);
        if (level == AnalysisLevel.Prompt && measure.ReadsTokens(parameters) is { } problem)
        {
            errors.At(a[problem.Key] ?? a["level"]!, $"{a.KeyPath(problem.Key)} {problem.Message}");
            return null;
        }
        return new LevelChoice(level ?? AnalysisLevel.Token, reduce ?? Reduction.Last, parameters);
    }
}
