using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>The <c>analyses</c> section: what to compare, and how.</summary>
public static partial class JobLoader
{
    private static readonly string[] AnalysisCommonKeys = ["name", "kind", "pairs", "sites"];
    private static readonly string[] AnalysisKeys =
        [.. AnalysisCommonKeys, "keep_variance", "inner", "outer", "k", "metric", "max_items", "seed", "top_k", "memory_mb", "precision",
          "min_correlation", "one_to_one", "hungarian", "non_concept_tokens", "non_concept_share", "shared_top_token", "top_tokens", "permutations"];
    private static readonly Dictionary<string, AnalysisKind> Kinds = Enum.GetValues<AnalysisKind>().ToDictionary(SpecNames.Of);
    private static readonly Dictionary<string, AnalysisSites> SiteChoices = new() { ["dense"] = AnalysisSites.Dense, ["sae"] = AnalysisSites.Sae };
    private static readonly Dictionary<string, SitePairs> PairChoices = new() { ["all"] = SitePairs.All, ["across"] = SitePairs.Across, ["within"] = SitePairs.Within };
    private static readonly Dictionary<string, RsaInner> InnerChoices = LowerNames<RsaInner>();
    private static readonly Dictionary<string, RsaOuter> OuterChoices = LowerNames<RsaOuter>();
    private static readonly Dictionary<string, KnnMetric> MetricChoices = LowerNames<KnnMetric>();
    private static readonly Dictionary<string, CorrelationPrecision> PrecisionChoices = LowerNames<CorrelationPrecision>();

    private static List<AnalysisSpec>? ReadAnalyses(YamlNode node, List<CaptureSpec>? captures, (List<SaeSpec> Published, List<TrainSaeSpec> Trained)? saes,
        string? modelWithoutTokenizer, ErrorSink errors)
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
            var sites = a.Choice("sites", SiteChoices);
            if (a["sites"] is not null && sites is null) { ok = false; continue; }
            if (name is null || kind is null) { ok = false; continue; }
            // feature_matching only makes sense between SAE feature spaces; it pairs SAE sites unless told otherwise (an error).
            sites ??= kind == AnalysisKind.FeatureMatching ? AnalysisSites.Sae : AnalysisSites.Dense;
            if (sites == AnalysisSites.Sae && kind is not (AnalysisKind.Correlation or AnalysisKind.FeatureMatching))
            {
                errors.At(a["sites"]!, $"{a.KeyPath("sites")} is 'sae' for kind '{SpecNames.Of(kind.Value)}', expected kind correlation or feature_matching (the measures on sparse SAE codes)");
                ok = false;
                continue;
            }
            if (sites == AnalysisSites.Dense && kind == AnalysisKind.FeatureMatching)
            {
                errors.At(a["sites"]!, $"{a.KeyPath("sites")} is 'dense' for kind 'feature_matching', expected 'sae' (features are matched between SAE code sites)");
                ok = false;
                continue;
            }
            if (ReadParameters(a, kind.Value, errors) is not { } parameters) { ok = false; continue; }

            // Non-concept token texts become ids through the corpus tokenizer; a pre-tokenized corpus has none.
            if (kind == AnalysisKind.FeatureMatching && parameters.NonConceptTokens.Count > 0 && modelWithoutTokenizer is not null)
            {
                errors.At(a["non_concept_tokens"] ?? a["kind"]!, $"{path}: the non-concept filter needs the corpus tokenizer, but model '{modelWithoutTokenizer}' has no tokenizer files, expected non_concept_tokens: [] (filter off)");
                ok = false;
                continue;
            }
            var analysis = new AnalysisSpec { Name = name, Kind = kind.Value, Pairs = pairs ?? SitePairs.All, Sites = sites.Value, Parameters = parameters };
            if (captures is not null && (saes is not null || analysis.Sites == AnalysisSites.Dense)
                && Planning.SitePairing.Pairs(captures, saes?.Published ?? [], saes?.Trained ?? [], analysis.Pairs, analysis.Sites).Count == 0)
            {
                var what = analysis.Sites == AnalysisSites.Sae ? "SAE sites (saes, train_sae)" : "captured sites";
                errors.At(a["pairs"] ?? a["sites"] ?? a["kind"]!, $"{path}: pairs '{SpecNames.Of(analysis.Pairs)}' finds no two {what} to compare, expected {PairsNeed(analysis.Pairs, analysis.Sites)}");
                ok = false;
                continue;
            }
            analyses.Add(analysis);
        }
        return ok ? analyses : null;
    }

    /// <summary>The kind's parameters; a parameter of another kind is an error at its key.</summary>
    private static AnalysisParameters? ReadParameters(YamlSection a, AnalysisKind kind, ErrorSink errors)
    {
        var allowed = AnalysisParameters.KeysOf(kind);
        int before = errors.Errors.Count;
        foreach (var (keyNode, _) in a.Node.Children)
            if (keyNode is YamlScalarNode { Value: { } key } && AnalysisKeys.Contains(key) && !AnalysisCommonKeys.Contains(key) && !allowed.Contains(key))
                errors.At(keyNode, $"{a.KeyPath(key)} is not a parameter of kind '{SpecNames.Of(kind)}', expected "
                    + (allowed.Count == 0 ? "none besides name, kind, pairs" : $"one of: {string.Join(", ", allowed)}"));
        var p = new AnalysisParameters();
        p = p with
        {
            KeepVariance = Fraction(a, "keep_variance", errors) ?? p.KeepVariance,
            Inner = a.Choice("inner", InnerChoices) ?? p.Inner,
            Outer = a.Choice("outer", OuterChoices) ?? p.Outer,
            K = a.Int("k", 1, "an integer of at least 1") ?? p.K,
            Metric = a.Choice("metric", MetricChoices) ?? p.Metric,
            MaxItems = a.Int("max_items", 3, "an integer of at least 3") ?? p.MaxItems,
            Seed = a.Int("seed", 0, "an integer of at least 0") ?? p.Seed,
            TopK = a.Int("top_k", 1, "an integer of at least 1") ?? p.TopK,
            MemoryMb = a.Int("memory_mb", 1, "an integer of at least 1 (MiB)") ?? p.MemoryMb,
            Precision = a.Choice("precision", PrecisionChoices) ?? p.Precision,
            MinCorrelation = Number(a, "min_correlation", -1, 1, errors) ?? p.MinCorrelation,
            OneToOne = Bool(a, "one_to_one", errors) ?? p.OneToOne,
            Hungarian = Bool(a, "hungarian", errors) ?? p.Hungarian,
            NonConceptTokens = Strings(a, "non_concept_tokens", errors) ?? p.NonConceptTokens,
            NonConceptShare = Fraction(a, "non_concept_share", errors) ?? p.NonConceptShare,
            SharedTopToken = Bool(a, "shared_top_token", errors) ?? p.SharedTopToken,
            TopTokens = a.Int("top_tokens", 1, "an integer of at least 1") ?? p.TopTokens,
            Permutations = a.Int("permutations", 1, "an integer of at least 1") ?? p.Permutations,
        };
        if (kind == AnalysisKind.Knn && p.K >= p.MaxItems)
            errors.At(a["k"] ?? a["max_items"] ?? a.Node, $"{a.KeyPath("k")} is {p.K}, expected fewer than max_items ({p.MaxItems})");
        return errors.Errors.Count == before ? p : null;
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

    private static Dictionary<string, T> LowerNames<T>() where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(v => v.ToString().ToLowerInvariant());

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
