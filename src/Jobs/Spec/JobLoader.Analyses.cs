using System.Text.RegularExpressions;
using Sweep.Models;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>analyses</c> section: what to compare, and how.</summary>
public static partial class JobLoader
{
    private static readonly string[] AnalysisKeys = ["name", "kind", "pairs"];
    private static readonly Dictionary<string, AnalysisKind> Kinds = new() { ["cka"] = AnalysisKind.Cka };
    private static readonly Dictionary<string, SitePairs> PairChoices = new() { ["all"] = SitePairs.All, ["across"] = SitePairs.Across, ["within"] = SitePairs.Within };

    private static List<AnalysisSpec>? ReadAnalyses(YamlNode node, List<CaptureSpec>? captures, ErrorSink errors)
    {
        if (node is YamlSequenceNode { Children.Count: 0 }) return [];
        if (errors.List(node, "analyses", "analyses ({name, kind})") is not { } items) return null;
        var analyses = new List<AnalysisSpec>();
        var seen = new Dictionary<string, YamlNode>();
        bool ok = true;
        for (int i = 0; i < items.Count; i++)
        {
            var path = $"analyses[{i}]";
            if (errors.Mapping(items[i], path, AnalysisKeys) is not { } a) { ok = false; continue; }
            var name = ReadName(a, "name", errors, required: true);
            if (name is not null && seen.TryGetValue(name, out var first))
            {
                errors.At(a["name"]!, $"{path}.name '{name}' is already used at line {first.Start.Line}, expected unique analysis names");
                name = null;
            }
            else if (name is not null) seen[name] = a["name"]!;
            var kind = a.Choice("kind", Kinds, required: true);
            var pairs = a.Choice("pairs", PairChoices);
            if (a["pairs"] is not null && pairs is null) { ok = false; continue; }
            if (name is null || kind is null) { ok = false; continue; }

            var analysis = new AnalysisSpec { Name = name, Kind = kind.Value, Pairs = pairs ?? SitePairs.All };
            if (captures is not null && Planning.SitePairing.Pairs(captures, analysis.Pairs).Count == 0)
            {
                errors.At(a["pairs"] ?? a["kind"]!, $"{path}: pairs '{SpecNames.Of(analysis.Pairs)}' finds no two captured sites to compare, expected {PairsNeed(analysis.Pairs)}");
                ok = false;
                continue;
            }
            analyses.Add(analysis);
        }
        return ok ? analyses : null;
    }

    private static string PairsNeed(SitePairs pairs) => pairs switch
    {
        SitePairs.Across => "captures of at least two models",
        SitePairs.Within => "a model captured at two or more sites",
        _ => "at least two captured sites",
    };
}
