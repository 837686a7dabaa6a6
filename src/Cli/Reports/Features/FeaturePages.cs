using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Sweep.Analysis.Features;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports.Features;

/// <summary>The final pairs of one <c>feature_matching</c> site pair: (A feature, B feature, correlation).</summary>
public sealed record FeaturePairSet(string Analysis, string ModelA, string SiteA, string ModelB, string SiteB, IReadOnlyList<(int A, int B, double Correlation)> Pairs);

/// <summary>
/// The report's feature pages (docs/reports.md, "Feature pages"). Per site of a <c>features</c> analysis:
/// <c>features-{slug}.html</c> (an index of the features, sortable, with a search box, and the selected feature's
/// card) and its data under <c>features/{slug}/</c>: <c>index.js</c> (one row per feature) and <c>cards-{n}.js</c>
/// (the cards of features [n·64, (n+1)·64)), loaded on demand. Per <c>feature_matching</c> site pair:
/// <c>pairs-{slug}.html</c>, each final pair's two cards side by side. Data files are scripts that register
/// themselves (<c>SweepFeatures.index(...)</c>, <c>SweepFeatures.cards(...)</c>) because browsers refuse fetch() of
/// file:// URLs and the report must work opened from disk; the page code is <c>features/sweep-features.js</c>.
/// The same database gives the same bytes.
/// </summary>
public static class FeaturePages
{
    public const int CardsPerFile = 64;
    public const string Folder = "features";
    public const string ScriptName = "sweep-features.js";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    public static string Slug(string analysis, string model, string site) => ReportFormat.FileName($"{analysis}-{model}-{site}");
    public static string Slug(FeatureSiteRow site) => Slug(site.Analysis, site.Model, site.Site);
    public static string PageName(FeatureSiteRow site) => $"features-{Slug(site)}.html";
    public static string PairPageName(FeaturePairSet set) => $"pairs-{ReportFormat.FileName($"{set.Analysis}-{set.ModelA}-{set.SiteA}-vs-{set.ModelB}-{set.SiteB}")}.html";
    public static string Key(FeatureSiteRow site) => $"{site.Analysis}|{site.Model}|{site.Site}";

    /// <summary>The run's feature sites and the final pairs of its <c>feature_matching</c> analyses (those that stored <c>feature_matching_pairs</c>).</summary>
    public static async Task<ReportContent> WithFeaturesAsync(ReportContent content, SweepDatabase database, CancellationToken ct)
    {
        var sites = await database.GetFeatureSitesAsync(content.Run.RunId, ct);
        var matching = content.Metrics.Where(m => m.Measure == "feature_matching_pairs").Select(m => m.Analysis).ToHashSet();
        var pairs = new List<FeaturePairSet>();
        if (matching.Count > 0)
            pairs = (await database.GetFeatureMatchesAsync(content.Run.RunId, ct))
                .Where(m => matching.Contains(m.Analysis) && m.Direction == SweepDatabase.BToA && m.Rank == 1 && m.Match is not null)
                .GroupBy(m => (m.Analysis, m.ModelA, m.SiteA, m.ModelB, m.SiteB))
                .Select(g => new FeaturePairSet(g.Key.Analysis, g.Key.ModelA, g.Key.SiteA, g.Key.ModelB, g.Key.SiteB,
                    g.OrderByDescending(m => m.Correlation).ThenBy(m => m.Feature).Select(m => (m.Match!.Value, m.Feature, m.Correlation)).ToList()))
                .ToList();
        return content with { FeatureSites = sites, FeaturePairs = pairs };
    }

    /// <summary>The report page's links to the feature and pair pages (nothing when there are none).</summary>
    public static void Section(StringBuilder html, ReportContent content)
    {
        if (content.FeatureSites.Count == 0 && content.FeaturePairs.Count == 0) return;
        html.Append("<section>\n<h2>Features</h2>\n<ul class=\"feature-pages\">\n");
        foreach (var site in content.FeatureSites)
            html.Append($"<li><a href=\"{Html.Escape(PageName(site))}\">{Html.Escape(site.Model)} {Html.Escape(site.Site)}</a> " +
                        $"({Html.Escape(site.Analysis)}: {site.Width} features over {site.NTokens} tokens)</li>\n");
        foreach (var set in content.FeaturePairs)
            html.Append($"<li><a href=\"{Html.Escape(PairPageName(set))}\">{Html.Escape(set.Analysis)}: {set.Pairs.Count} matched pairs " +
                        $"{Html.Escape(set.ModelA)} {Html.Escape(set.SiteA)} ~ {Html.Escape(set.ModelB)} {Html.Escape(set.SiteB)}</a>, side by side</li>\n");
        html.Append("</ul>\n</section>\n");
    }

    /// <summary>Writes every feature page, pair page and data file of <paramref name="content"/> into <paramref name="directory"/>.</summary>
    public static async Task WriteAsync(SweepDatabase database, ReportContent content, string directory, CancellationToken ct)
    {
        if (content.FeatureSites.Count == 0 && content.FeaturePairs.Count == 0) return;
        Directory.CreateDirectory(Path.Combine(directory, Folder));
        await File.WriteAllTextAsync(Path.Combine(directory, Folder, ScriptName), PageScript, ct);
        foreach (var site in content.FeatureSites)
        {
            var slug = Slug(site);
            var dir = Path.Combine(directory, Folder, slug);
            Directory.CreateDirectory(dir);
            var stats = await database.GetFeatureStatsAsync(content.Run.RunId, site, ct: ct);
            await File.WriteAllTextAsync(Path.Combine(dir, "index.js"), IndexScript(site, stats), ct);
            for (int first = 0; first < site.Width; first += CardsPerFile)
            {
                int last = Math.Min(site.Width, first + CardsPerFile);
                var cards = await CardsAsync(database, content.Run.RunId, site, stats, first, last, ct);
                await File.WriteAllTextAsync(Path.Combine(dir, $"cards-{first / CardsPerFile}.js"),
                    $"SweepFeatures.cards({Js(Key(site))}, {first / CardsPerFile}, {JsonSerializer.Serialize(cards, Json)});\n", ct);
            }
            await File.WriteAllTextAsync(Path.Combine(directory, PageName(site)), SitePage(content.Run, site), ct);
        }
        foreach (var set in content.FeaturePairs)
            await File.WriteAllTextAsync(Path.Combine(directory, PairPageName(set)), PairPage(content, set), ct);
    }

    private static string IndexScript(FeatureSiteRow site, IReadOnlyList<FeatureStatRow> stats)
    {
        var data = new Dictionary<string, object?>
        {
            ["analysis"] = site.Analysis, ["model"] = site.Model, ["site"] = site.Site, ["sae"] = site.Sae, ["slug"] = Slug(site),
            ["dir"] = $"{Folder}/{Slug(site)}", ["page"] = PageName(site), ["width"] = site.Width, ["tokens"] = site.NTokens,
            ["chunk"] = CardsPerFile, ["neuronpedia"] = string.IsNullOrEmpty(site.NeuronpediaId) ? null : site.NeuronpediaId,
            ["features"] = stats.Select(s => new object?[] { s.Feature, s.Fired, s.Frequency, s.MaxActivation, s.MeanWhenActive }),
        };
        return $"SweepFeatures.index({Js(Key(site))}, {JsonSerializer.Serialize(data, Json)});\n";
    }

    private static async Task<Dictionary<string, object>> CardsAsync(SweepDatabase database, long runId, FeatureSiteRow site,
        IReadOnlyList<FeatureStatRow> allStats, int first, int last, CancellationToken ct)
    {
        var examples = (await database.GetTopExamplesAsync(runId, site, first, last, ct)).ToLookup(e => e.Feature);
        var partners = (await database.GetFeatureCoactivationsAsync(runId, site, first, last, ct)).ToLookup(p => p.Feature);
        var logits = (await database.GetFeatureLogitsAsync(runId, site, first, last, ct)).ToLookup(l => l.Feature);
        bool hasPartners = partners.Count > 0, hasLogits = logits.Count > 0;
        var cards = new Dictionary<string, object>();
        foreach (var s in allStats.Where(s => s.Feature >= first && s.Feature < last))
        {
            var card = new Dictionary<string, object?>
            {
                ["n"] = s.NTokens, ["fired"] = s.Fired, ["freq"] = s.Frequency, ["mean"] = s.MeanActivation, ["max"] = s.MaxActivation,
                ["meanActive"] = s.MeanWhenActive,
                ["hist"] = s.HistogramBins.Zip(s.HistogramCounts, (b, c) => new long[] { b, c }),
                ["top"] = examples[s.Feature].Where(e => e.Kind == "top").Select(Example),
                ["samples"] = examples[s.Feature].Where(e => e.Kind == "sample").Select(Example),
            };
            if (hasPartners)
            {
                card["corr"] = partners[s.Feature].Where(p => p.Measure == "correlation").Select(p => new object[] { p.Partner, p.Value, p.CoFirings });
                card["jacc"] = partners[s.Feature].Where(p => p.Measure == "jaccard").Select(p => new object[] { p.Partner, p.Value, p.CoFirings });
            }
            if (hasLogits)
            {
                card["up"] = logits[s.Feature].Where(l => l.Direction == "promoted").Select(l => new object[] { l.TokenText, l.Effect });
                card["down"] = logits[s.Feature].Where(l => l.Direction == "suppressed").Select(l => new object[] { l.TokenText, l.Effect });
            }
            cards[s.Feature.ToString(CultureInfo.InvariantCulture)] = card;
        }
        return cards;
    }

    private static Dictionary<string, object?> Example(TopExampleRow e)
    {
        var example = new Dictionary<string, object?>
        {
            ["act"] = e.Activation, ["seq"] = e.Seq, ["pos"] = e.Pos, ["start"] = e.WindowStart, ["texts"] = e.WindowTexts, ["acts"] = e.WindowActivations,
        };
        if (e.Stratum is { } stratum)
        {
            example["stratum"] = stratum;
            example["lo"] = IntervalSamples.Lower(stratum);
            example["hi"] = stratum == IntervalSamples.Strata - 1 ? null : IntervalSamples.Upper(stratum);
        }
        return example;
    }

    private static string SitePage(RunRecord run, FeatureSiteRow site)
    {
        var title = $"Features of {site.Model} {site.Site}";
        var neuronpedia = string.IsNullOrEmpty(site.NeuronpediaId) ? "" : $" · Neuronpedia id <code>{Html.Escape(site.NeuronpediaId)}</code>";
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{Html.Escape(title)}} (run {{run.RunId}})</title>
            <style>{{Style}}</style>
            </head>
            <body>
            <p><a href="{{ReportWriter.HtmlFileName}}">← run {{run.RunId}}: {{Html.Escape(run.Name)}}</a></p>
            <h1>{{Html.Escape(title)}}</h1>
            <p class="facts">analysis {{Html.Escape(site.Analysis)}} · {{site.Width}} features · {{site.NTokens}} tokens{{neuronpedia}}</p>
            <p class="search"><label>Feature <input id="feature-search" type="number" min="0" max="{{site.Width - 1}}"></label>
            <button id="feature-go" type="button">Show</button> <span id="search-message" class="message"></span></p>
            <div class="layout"><div id="feature-index"></div><div id="feature-card"><p class="hint">Pick a feature from the table or type its number.</p></div></div>
            <script src="{{Folder}}/{{ScriptName}}"></script>
            <script src="{{Folder}}/{{Slug(site)}}/index.js"></script>
            <script>SweepFeatures.featurePage({{Js(Key(site))}});</script>
            </body>
            </html>

            """;
    }

    private static string PairPage(ReportContent content, FeaturePairSet set)
    {
        FeatureSiteRow? Find(string model, string site) =>
            content.FeatureSites.Where(s => s.Model == model && s.Site == site).OrderBy(s => s.Analysis, StringComparer.Ordinal).FirstOrDefault();
        var a = Find(set.ModelA, set.SiteA);
        var b = Find(set.ModelB, set.SiteB);
        var scripts = new StringBuilder();
        foreach (var site in new[] { a, b }.OfType<FeatureSiteRow>().Distinct())
            scripts.Append($"<script src=\"{Folder}/{Slug(site)}/index.js\"></script>\n");
        var data = new Dictionary<string, object?>
        {
            ["a"] = a is null ? null : Key(a), ["b"] = b is null ? null : Key(b),
            ["pairs"] = set.Pairs.Select(p => new object[] { p.A, p.B, p.Correlation }),
        };
        var title = $"{set.Analysis}: {set.ModelA} {set.SiteA} ~ {set.ModelB} {set.SiteB}";
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{Html.Escape(title)}} (run {{content.Run.RunId}})</title>
            <style>{{Style}}</style>
            </head>
            <body>
            <p><a href="{{ReportWriter.HtmlFileName}}">← run {{content.Run.RunId}}: {{Html.Escape(content.Run.Name)}}</a></p>
            <h1>Matched pairs, side by side</h1>
            <p class="facts">{{Html.Escape(title)}} · {{set.Pairs.Count}} final pairs, strongest first</p>
            <p><span id="search-message" class="message"></span></p>
            <div class="layout"><div id="pair-index"></div><div id="pair-cards"><p class="hint">Pick a pair.</p></div></div>
            <script src="{{Folder}}/{{ScriptName}}"></script>
            {{scripts}}<script>SweepFeatures.pairPage({{JsonSerializer.Serialize(data, Json)}});</script>
            </body>
            </html>

            """;
    }

    /// <summary>A string as a JavaScript literal (JSON escapes quotes, &lt;, &gt;, &amp; and non-ASCII, so it is safe inside a script element).</summary>
    private static string Js(string text) => JsonSerializer.Serialize(text, Json);

    private static readonly string PageScript = ReadResource(ScriptName);

    private static string ReadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Sweep.Cli.Reports.Features.{name}")
            ?? throw new InvalidOperationException($"embedded resource {name} is missing from sweep");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
        h1 { font-weight: 600; font-size: 1.4em; } .facts, .hint { color: #555; } .message { color: #b00; }
        .layout { display: flex; gap: 2em; align-items: flex-start; } #feature-index, #pair-index { flex: 0 0 30em; }
        #feature-card, #pair-cards { flex: 1; min-width: 0; }
        table { border-collapse: collapse; font-size: 0.9em; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; }
        td { font-variant-numeric: tabular-nums; } button.sort { border: none; background: none; font-weight: 600; cursor: pointer; padding: 0; }
        .card h2 { margin: 0.2em 0; } .card .site { font-size: 0.6em; color: #666; font-weight: normal; }
        .row { display: flex; gap: 2em; flex-wrap: wrap; align-items: flex-start; }
        .histogram rect { fill: #e07020; } .histogram figcaption { font-size: 0.8em; color: #666; }
        .context { font-family: ui-monospace, monospace; font-size: 0.85em; margin: 0.15em 0; white-space: pre-wrap; overflow-wrap: anywhere; }
        .context .act { display: inline-block; width: 5em; color: #666; } .context .where { color: #999; margin-left: 1em; }
        .tok { border-radius: 2px; } .tok.hot { outline: 2px solid #a03000; font-weight: bold; }
        .side-by-side { display: flex; gap: 1.5em; } .side-by-side .side { flex: 1; min-width: 0; border-left: 3px solid #eee; padding-left: 1em; }
        """;
}
