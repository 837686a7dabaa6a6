using System.Globalization;
using Sweep.Analysis.Measures;
using Sweep.Identity;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>analyses</c> section: what to compare, and how.</summary>
public static partial class JobLoader
{
    private static readonly string[] AnalysisCommonKeys = ["name", "kind", "pairs", "sites", "models", "shards_per_unit"];
    /// <summary>The keys of a pair analysis's level: <c>level</c> (token | prompt) and, at prompt level, <c>reduce</c> (last | mean).</summary>
    /// <remarks>Declared here, before <see cref="AnalysisKeys"/>: static fields of a partial class initialize in file order.</remarks>
    private static readonly string[] PromptLevelKeys = ["level", "reduce"];
    private static readonly string[] AnalysisKeys = [.. AnalysisCommonKeys, .. PromptLevelKeys.Union(MeasureRegistry.ParameterNames)];
    private static readonly Dictionary<string, string> Kinds = MeasureRegistry.Kinds.ToDictionary(k => k);
    private static readonly Dictionary<string, AnalysisSites> SiteChoices = new() { ["dense"] = AnalysisSites.Dense, ["sae"] = AnalysisSites.Sae };
    private static readonly Dictionary<string, SitePairs> PairChoices = new() { ["all"] = SitePairs.All, ["across"] = SitePairs.Across, ["within"] = SitePairs.Within };

    /// <param name="corpus">What the job says about its corpus (label fields, tokenizer), for the measures' corpus checks; null when the corpus section has errors.</param>
    private static List<AnalysisSpec>? ReadAnalyses(YamlNode node, List<CaptureSpec>? captures, (List<SaeSpec> Published, List<TrainSaeSpec> Trained)? saes,
        string? modelWithoutTokenizer, CorpusFacts? corpus, Func<string, string, bool>? sharesTokenization, ErrorSink errors)
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
            var (sites, siteList) = ReadSites(a, errors);
            if (a["sites"] is not null && sites is null) { ok = false; continue; }
            var modelList = a["models"] is { } modelsNode ? NameList(modelsNode, a.KeyPath("models"), "a list of model names", errors) : null;
            if (a["models"] is not null && modelList is null) { ok = false; continue; }
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
            parameters = level.Parameters;

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
                SiteList = siteList, ModelList = modelList, Marks = Marks(a), Level = level.Level, Reduce = level.Reduce,
            };
            if (measure.Arity == Arity.Site && a["pairs"] is { } pairsNode)
            {
                errors.At(pairsNode, $"{a.KeyPath("pairs")} does not apply to kind '{kind}', which looks inside one site at a time, expected no pairs key");
                ok = false;
                continue;
            }
            if (measure.Arity == Arity.Site && analysis.Sites == AnalysisSites.Sae && saes is not null
                && Planning.SitePairing.SaeSites(saes.Value.Published, saes.Value.Trained).Count == 0)
            {
                errors.At(a["sites"] ?? a["kind"]!, $"{path}: sites 'sae' finds no SAE site to look inside, expected an SAE in the saes or train_sae sections");
                ok = false;
                continue;
            }
            // A pair kind takes a list of SAE code sites (which SAE outputs to compare, e.g. a temporal SAE's novel codes only),
            // not of hook points (pairs chooses among the captured sites).
            if (measure.Arity == Arity.Pair && siteList is not null && analysis.Sites != AnalysisSites.Sae)
            {
                errors.At(a["sites"]!, $"{a.KeyPath("sites")} as a list applies to the kinds that look inside one site ({OrList(MeasureRegistry.All.Where(m => m.Arity == Arity.Site).Select(m => m.Kind).Distinct())}), " +
                    $"expected sites: dense or sae, or a list of SAE code sites ({{hook}}/sae/{{name}}), for kind '{kind}' (pairs chooses its site pairs)");
                ok = false;
                continue;
            }
            if (measure.Arity == Arity.Pair && modelList is not null && captures is not null && !CheckPairModels(a, modelList, captures, errors))
            {
                ok = false;
                continue;
            }
            if ((measure.Arity == Arity.Site || siteList is not null) && captures is not null && (saes is not null || analysis.Sites == AnalysisSites.Dense)
                && !CheckSiteSelection(a, analysis, captures, saes, errors))
            {
                ok = false;
                continue;
            }
            if (analysis.Sites == AnalysisSites.Sae && saes is not null && !CheckSignedCodes(a, path, analysis, saes.Value, errors)) { ok = false; continue; }
            // What the measure needs of the corpus that the job says before the corpus is read: label fields, a tokenizer.
            if (corpus is not null && measure.CheckCorpus(parameters, corpus) is { Count: > 0 } corpusProblems)
            {
                foreach (var problem in corpusProblems) errors.At(ProblemNode(a, problem.Key), $"{a.KeyPath(problem.Key)} {problem.Message}");
                ok = false;
                continue;
            }
            if (measure.Arity == Arity.Pair && captures is not null && (saes is not null || analysis.Sites == AnalysisSites.Dense))
            {
                var sitePairs = Planning.SitePairing.Pairs(captures, saes?.Published ?? [], saes?.Trained ?? [], analysis.Pairs, analysis.Sites, analysis.SiteList, analysis.ModelList);
                if (sitePairs.Count == 0)
                {
                    var what = analysis.Sites == AnalysisSites.Sae ? "SAE sites (saes, train_sae)" : "captured sites";
                    var among = analysis.ModelList is { } only ? $" of models {string.Join(", ", only)}" : "";
                    errors.At(a["pairs"] ?? a["models"] ?? a["sites"] ?? a["kind"]!, $"{path}: pairs '{SpecNames.Of(analysis.Pairs)}' finds no two {what}{among} to compare, expected {PairsNeed(analysis.Pairs, analysis.Sites)}");
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

    /// <summary>
    /// <c>models</c> of a kind that compares pairs: each a captured model (the pairs are then only of their sites, e.g.
    /// trained models apart from their untrained twins); errors name the entry and the captured models.
    /// </summary>
    private static bool CheckPairModels(YamlSection a, IReadOnlyList<string> models, List<CaptureSpec> captures, ErrorSink errors)
    {
        var captured = captures.Select(c => c.Model).ToList();
        bool ok = true;
        for (int j = 0; j < models.Count; j++)
        {
            if (captured.Contains(models[j])) continue;
            errors.At(((YamlSequenceNode)a["models"]!).Children[j],
                $"{a.KeyPath("models")}[{j}] '{models[j]}' is not a captured model, expected one of: {string.Join(", ", captured)}{Hint(models[j], captured)}");
            ok = false;
        }
        return ok;
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
                ParameterType.Text => a.String(key.Name, key.Expected) is { Length: > 0 } text ? text : Empty(a, key, errors),
                _ => Strings(a, key.Name, key.Expected, errors),
            };
            if (value is not null) p = key.Set(p, value);
        }
        if (errors.Errors.Count == before && measure.Check(p) is { } problem)
            errors.At(ProblemNode(a, problem.Key), $"{a.KeyPath(problem.Key)} {problem.Message}");
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
    private static IReadOnlyList<string>? Strings(YamlSection a, string key, string expected, ErrorSink errors)
    {
        if (a[key] is not { } node) return null;
        if (node is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode { Value: not null }))
            return list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        errors.At(node, $"{a.KeyPath(key)} is {ErrorSink.Describe(node)}, expected {expected}");
        return null;
    }

    /// <summary>Reports an empty text parameter (an absent one is never read); gives null.</summary>
    private static string? Empty(YamlSection a, ParameterKey key, ErrorSink errors)
    {
        if (a[key.Name] is YamlScalarNode { Value: "" } node) errors.At(node, $"{a.KeyPath(key.Name)} is an empty string, expected {key.Expected}");
        return null;
    }

    /// <summary>
    /// The node a measure's problem points at: the key's value, a list item for <c>key[i]</c>, or — for a key the entry
    /// does not write (a default that does not fit) — its <c>kind</c>.
    /// </summary>
    private static YamlNode ProblemNode(YamlSection a, string key)
    {
        int bracket = key.IndexOf('[');
        if (bracket > 0 && a[key[..bracket]] is YamlSequenceNode list && int.TryParse(key[(bracket + 1)..^1], out int i) && i < list.Children.Count)
            return list.Children[i];
        return a[bracket > 0 ? key[..bracket] : key] ?? a["kind"] ?? a.Node;
    }

    /// <summary>Where each value of the entry is (list items as <c>key[i]</c>), for errors found once the corpus is read.</summary>
    private static Dictionary<string, (int Line, int Column)> Marks(YamlSection a)
    {
        var marks = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        static (int, int) At(YamlNode node) => (Math.Max(1, (int)node.Start.Line), Math.Max(1, (int)node.Start.Column));
        foreach (var (keyNode, value) in a.Node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key }) continue;
            marks[key] = At(value);
            if (value is YamlSequenceNode list)
                for (int i = 0; i < list.Children.Count; i++) marks[$"{key}[{i}]"] = At(list.Children[i]);
        }
        return marks;
    }

    /// <summary>
    /// <c>sites</c>: <c>dense</c> or <c>sae</c>, or (for the kinds that look inside one site) a list of captured hook points
    /// or of SAE code sites (<c>{hook}/sae/{name}</c>), which says which of the two it is. Absent gives (null, null).
    /// </summary>
    private static (AnalysisSites? Sites, IReadOnlyList<string>? List) ReadSites(YamlSection a, ErrorSink errors)
    {
        if (a["sites"] is not YamlSequenceNode node) return (a.Choice("sites", SiteChoices), null);
        if (NameList(node, a.KeyPath("sites"), "a list of captured hook points or SAE code sites ({hook}/sae/{name})", errors) is not { } list) return (null, null);
        int sae = list.Count(Keys.IsSaeSite);
        if (sae > 0 && sae < list.Count)
        {
            errors.At(node, $"{a.KeyPath("sites")} mixes hook points and SAE code sites, expected only hook points (dense activations) or only SAE code sites ({{hook}}/sae/{{name}})");
            return (null, null);
        }
        return (sae > 0 ? AnalysisSites.Sae : AnalysisSites.Dense, list);
    }

    /// <summary>A non-empty list of distinct strings; null after reporting why not.</summary>
    private static IReadOnlyList<string>? NameList(YamlNode node, string path, string expected, ErrorSink errors)
    {
        if (node is not YamlSequenceNode list || list.Children.Count == 0 || !list.Children.All(c => c is YamlScalarNode { Value: { Length: > 0 } }))
        {
            errors.At(node, $"{path} is {(node is YamlSequenceNode { Children.Count: 0 } ? "an empty list" : ErrorSink.Describe(node))}, expected {expected}");
            return null;
        }
        var names = list.Children.Select(c => ((YamlScalarNode)c).Value!).ToList();
        for (int i = 0; i < names.Count; i++)
            if (names.IndexOf(names[i]) < i)
            {
                errors.At(list.Children[i], $"{path}[{i}] '{names[i]}' is listed twice, expected each once");
                return null;
            }
        return names;
    }

    /// <summary>
    /// A one-site analysis's <c>models</c> and <c>sites</c> lists name captured models and their sites (hook points, not the
    /// outputs; or SAE code sites with <c>sites: sae</c>), and together select at least one site.
    /// </summary>
    private static bool CheckSiteSelection(YamlSection a, AnalysisSpec analysis, List<CaptureSpec> captures,
        (List<SaeSpec> Published, List<TrainSaeSpec> Trained)? saes, ErrorSink errors)
    {
        var candidates = analysis.Sites == AnalysisSites.Sae
            ? Planning.SitePairing.SaeSites(saes!.Value.Published, saes.Value.Trained).Select(s => s.Ref).ToList()
            : Planning.SitePairing.HookSites(captures);
        var models = candidates.Select(s => s.Model).Distinct().ToList();
        bool ok = true;
        for (int i = 0; i < (analysis.ModelList?.Count ?? 0); i++)
        {
            var model = analysis.ModelList![i];
            if (models.Contains(model)) continue;
            var what = analysis.Sites == AnalysisSites.Sae ? "a model with SAE code sites" : "a captured model";
            var hint = Suggest.Closest(model, models) is { } close ? $"; did you mean '{close}'?" : "";
            errors.At(((YamlSequenceNode)a["models"]!).Children[i], $"{a.KeyPath("models")}[{i}] '{model}' is not {what}, expected one of: {string.Join(", ", models)}{hint}");
            ok = false;
        }
        if (!ok) return false;
        var inModels = candidates.Where(s => analysis.ModelList?.Contains(s.Model) ?? true).ToList();
        var names = inModels.Select(s => s.Site).Distinct().ToList();
        for (int i = 0; i < (analysis.SiteList?.Count ?? 0); i++)
        {
            var site = analysis.SiteList![i];
            if (names.Contains(site)) continue;
            var what = analysis.Sites == AnalysisSites.Sae ? "an SAE code site (saes, train_sae)" : "a captured hook point";
            var of = analysis.ModelList is null ? "" : $" of {(analysis.ModelList.Count == 1 ? "model" : "models")} {string.Join(", ", analysis.ModelList)}";
            var hint = Suggest.Closest(site, names) is { } close ? $"; did you mean '{close}'?" : "";
            errors.At(((YamlSequenceNode)a["sites"]!).Children[i], $"{a.KeyPath("sites")}[{i}] '{site}' is not {what}{of}, expected one of: {string.Join(", ", names)}{hint}");
            ok = false;
        }
        if (ok && inModels.Count == 0)
        {
            errors.At(a["models"] ?? a["sites"] ?? a["kind"]!, $"analyses entry '{analysis.Name}' selects no site, expected " +
                (analysis.Sites == AnalysisSites.Sae ? "SAEs in the saes or train_sae sections" : "captured hook points"));
            ok = false;
        }
        return ok;
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
