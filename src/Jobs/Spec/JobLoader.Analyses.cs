using System.Globalization;
using Sweep.Analysis.Measures;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>analyses</c> section: what to compare, and how.</summary>
public static partial class JobLoader
{
    private static readonly string[] AnalysisCommonKeys = ["name", "kind", "pairs", "sites", "shards_per_unit"];
    /// <summary>The keys of a pair analysis's level: <c>level</c> (token | prompt) and, at prompt level, <c>reduce</c> (last | mean).</summary>
    /// <remarks>Declared here, before <see cref="AnalysisKeys"/>: static fields of a partial class initialize in file order.</remarks>
    private static readonly string[] PromptLevelKeys = ["level", "reduce"];
    private static readonly string[] AnalysisKeys = [.. AnalysisCommonKeys, .. PromptLevelKeys.Union(MeasureRegistry.ParameterNames)];
    private static readonly Dictionary<string, string> Kinds = MeasureRegistry.Kinds.ToDictionary(k => k);
    private static readonly Dictionary<string, SitePairs> PairChoices = new() { ["all"] = SitePairs.All, ["across"] = SitePairs.Across, ["within"] = SitePairs.Within };

    private static List<AnalysisSpec>? ReadAnalyses(YamlNode node, List<CaptureSpec>? captures, (List<SaeSpec> Published, List<TrainSaeSpec> Trained)? saes,
        string? modelWithoutTokenizer, Func<string, string, bool>? sharesTokenization, ErrorSink errors)
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
            var kind = ChoiceText(a, "kind", Kinds, errors, required: true);
            var pairs = a.Choice("pairs", PairChoices);
            if (a["pairs"] is not null && pairs is null) { ok = false; continue; }
            var (sites, selection) = ReadSites(a, errors);
            if (a["sites"] is not null && sites is null) { ok = false; continue; }
            var shardsPerUnit = a.Int("shards_per_unit", 1, "an integer of at least 1 (corpus shards per map unit)");
            if (a["shards_per_unit"] is not null && shardsPerUnit is null) { ok = false; continue; }
            if (name is null || kind is null) { ok = false; continue; }
            // A kind measured only on SAE codes (feature_matching) pairs SAE sites unless told otherwise (an error).
            sites ??= MeasureRegistry.Find(kind, SiteData.Dense) is null ? AnalysisSites.Sae : AnalysisSites.Dense;
            var data = sites == AnalysisSites.Sae ? SiteData.Sparse : SiteData.Dense;
            if (MeasureRegistry.Find(kind, data) is not { } measure)
            {
                var message = sites == AnalysisSites.Sae
                    ? $"{a.KeyPath("sites")} is 'sae' for kind '{kind}', expected kind {OrList(MeasureRegistry.All.Where(m => m.Data == SiteData.Sparse).Select(m => m.Kind).Distinct())} (the measures on sparse SAE codes)"
                    : $"{a.KeyPath("sites")} is 'dense' for kind '{kind}', expected 'sae' (kind '{kind}' runs on SAE code sites only)";
                errors.At(a["sites"]!, message);
                ok = false;
                continue;
            }
            if (ReadParameters(a, measure, errors) is not { } parameters) { ok = false; continue; }
            if (ReadLevel(a, measure, parameters, errors) is not { } level) { ok = false; continue; }

            // Texts a measure needs as token ids go through the corpus tokenizer; a pre-tokenized corpus has none.
            if (measure.TokenTexts(parameters) is { } texts && modelWithoutTokenizer is not null)
            {
                errors.At(a[texts.Key] ?? a["kind"]!, $"{path}: {texts.Purpose} needs the corpus tokenizer, but model '{modelWithoutTokenizer}' has no tokenizer files, expected {texts.Key}: [] ({texts.Off})");
                ok = false;
                continue;
            }
            var analysis = new AnalysisSpec
            {
                Name = name, Measure = measure, Pairs = pairs ?? SitePairs.All, Sites = sites.Value, Parameters = parameters, ShardsPerUnit = shardsPerUnit,
                SaeSelection = selection?.Select(e => e.Text).ToList(), Level = level.Level, Reduce = level.Reduce,
            };
            if (measure.Arity == Arity.Site && a["pairs"] is { } pairsNode)
            {
                errors.At(pairsNode, $"{a.KeyPath("pairs")} does not apply to kind '{kind}', which looks inside one site at a time, expected no pairs key");
                ok = false;
                continue;
            }
            if (analysis.Sites == AnalysisSites.Sae && saes is not null && !CheckSaeSites(a, path, analysis, selection, saes.Value, errors)) { ok = false; continue; }
            if (measure.Arity == Arity.Site && analysis.Sites == AnalysisSites.Sae && saes is not null
                && Planning.SitePairing.SaeSites(saes.Value.Published, saes.Value.Trained).Count == 0)
            {
                errors.At(a["sites"] ?? a["kind"]!, $"{path}: sites 'sae' finds no SAE site to look inside, expected an SAE in the saes or train_sae sections");
                ok = false;
                continue;
            }
            if (measure.Arity == Arity.Pair && captures is not null && (saes is not null || analysis.Sites == AnalysisSites.Dense))
            {
                var sitePairs = Planning.SitePairing.Pairs(captures, saes?.Published ?? [], saes?.Trained ?? [], analysis.Pairs, analysis.Sites, analysis.SaeSelection);
                if (sitePairs.Count == 0)
                {
                    var what = analysis.Sites == AnalysisSites.Sae ? "SAE sites (saes, train_sae)" : "captured sites";
                    errors.At(a["pairs"] ?? a["sites"] ?? a["kind"]!, $"{path}: pairs '{SpecNames.Of(analysis.Pairs)}' finds no two {what} to compare, expected {PairsNeed(analysis.Pairs, analysis.Sites)}");
                    ok = false;
                    continue;
                }
                if (analysis.Level == AnalysisLevel.Token && sharesTokenization is not null
                    && sitePairs.FirstOrDefault(p => !sharesTokenization(p.A.Model, p.B.Model)) is ({ } x, { } y))
                {
                    errors.At(a.Node, $"{path}: kind '{kind}' compares sites token by token, but models '{x.Model}' and '{y.Model}' have different tokenizers "
                        + $"(each tokenizes the corpus itself, so their token rows are not the same tokens), expected level: prompt (one row per prompt, reduce: last or mean)"
                        + (analysis.Pairs == SitePairs.Within ? "" : " or pairs: within"));
                    ok = false;
                    continue;
                }
            }
            analyses.Add(analysis);
        }
        return ok ? analyses : null;
    }

    /// <summary>The measure's parameter record, read key by key as the measure declares them; a parameter of another kind is an error at its key.</summary>
    private static MeasureParameters? ReadParameters(YamlSection a, Measure measure, ErrorSink errors)
    {
        var allowed = measure.Keys.Select(k => k.Name).ToList();
        int before = errors.Errors.Count;
        foreach (var (keyNode, _) in a.Node.Children)
            if (keyNode is YamlScalarNode { Value: { } key } && AnalysisKeys.Contains(key) && !AnalysisCommonKeys.Contains(key) && !allowed.Contains(key)
                && !(measure.Arity == Arity.Pair && PromptLevelKeys.Contains(key)))
            {
                // A key the kind takes on the other kind of site (features' partners on a dense site) says so.
                var elsewhere = MeasureRegistry.Of(measure.Kind).FirstOrDefault(m => m != measure && m.Keys.Any(k => k.Name == key));
                var what = elsewhere is null ? $"is not a parameter of kind '{measure.Kind}'"
                    : $"applies to kind '{measure.Kind}' on {(elsewhere.Data == SiteData.Sparse ? "SAE code sites (sites: sae)" : "dense sites (sites: dense)")} only";
                errors.At(keyNode, $"{a.KeyPath(key)} {what}, expected "
                    + (allowed.Count == 0 ? "none besides name, kind, pairs" : $"one of: {string.Join(", ", allowed)}"));
            }
        var p = measure.Defaults;
        foreach (var key in measure.Keys)
        {
            if (a[key.Name] is null) continue;
            object? value = key.Type switch
            {
                ParameterType.Integer => a.Int(key.Name, (int)key.Min, key.Expected),
                ParameterType.Number when key.MinExclusive => Fraction(a, key.Name, errors),
                ParameterType.Number => Number(a, key.Name, key.Min, key.Max, errors),
                ParameterType.Boolean => Bool(a, key.Name, errors),
                ParameterType.Choice => ChoiceText(a, key.Name, key.Choices.ToDictionary(c => c), errors),
                _ => Strings(a, key.Name, errors),
            };
            if (value is not null) p = key.Set(p, value);
        }
        if (errors.Errors.Count == before && measure.Check(p) is { } problem)
            errors.At(a[problem.Key] ?? a.Node, $"{a.KeyPath(problem.Key)} {problem.Message}");
        return errors.Errors.Count == before ? p : null;
    }

    /// <summary>One of <paramref name="names"/>' keys (as YamlSection.Choice, for string values); absent gives null.</summary>
    private static string? ChoiceText(YamlSection a, string key, IReadOnlyDictionary<string, string> names, ErrorSink errors, bool required = false)
    {
        var node = required ? a.Required(key, "one of: " + string.Join(", ", names.Keys)) : a[key];
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } text } && names.TryGetValue(text, out var value)) return value;
        var hint = node is YamlScalarNode { Value: { } t } && Suggest.Closest(t, names.Keys) is { } close ? $"; did you mean '{close}'?" : "";
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected one of: {string.Join(", ", names.Keys)}{hint}");
        return null;
    }

    private static string OrList(IEnumerable<string> items)
    {
        var list = items.ToList();
        return list.Count <= 1 ? string.Concat(list) : string.Join(", ", list[..^1]) + " or " + list[^1];
    }

    /// <summary>A number in (0, 1]; absent gives null.</summary>
    private static double? Fraction(YamlSection a, string key, ErrorSink errors)
    {
        if (a[key] is not { } node) return null;
        if (node is YamlScalarNode { Value: { } text } && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && v <= 1)
            return v;
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected a number in (0, 1]");
        return null;
    }

    /// <summary>A number in [<paramref name="min"/>, <paramref name="max"/>]; absent gives null.</summary>
    private static double? Number(YamlSection a, string key, double min, double max, ErrorSink errors)
    {
        if (a[key] is not { } node) return null;
        if (node is YamlScalarNode { Value: { } text } && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max)
            return v;
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]");
        return null;
    }

    private static bool? Bool(YamlSection a, string key, ErrorSink errors)
    {
        if (a[key] is not { } node) return null;
        if (node is YamlScalarNode { Value: "true" or "false" } scalar) return scalar.Value == "true";
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected true or false");
        return null;
    }

    /// <summary>A list of strings (an empty list is allowed); absent gives null.</summary>
    private static IReadOnlyList<string>? Strings(YamlSection a, string key, ErrorSink errors)
    {
        if (a[key] is not { } node) return null;
        if (node is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode { Value: not null }))
            return list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected a list of token texts");
        return null;
    }

    private static string PairsNeed(SitePairs pairs, AnalysisSites sites) => (pairs, sites) switch
    {
        (SitePairs.Across, AnalysisSites.Sae) => "SAEs attached to at least two models",
        (SitePairs.Within, AnalysisSites.Sae) => "a model with two or more SAEs",
        (_, AnalysisSites.Sae) => "at least two SAEs in the saes and train_sae sections",
        (SitePairs.Across, _) => "captures of at least two models",
        (SitePairs.Within, _) => "a model captured at two or more sites",
        _ => "at least two captured sites",
    };
}
