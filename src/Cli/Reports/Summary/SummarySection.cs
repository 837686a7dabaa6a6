using System.Globalization;
using System.Text;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports.Summary;

/// <summary>
/// The section the report opens on (<see cref="SummaryContent"/>): what the models learned, whether two models' SAE
/// features correspond beyond chance (trained pairs beside their untrained controls), the layer grid, and links to
/// the strongest pairs. Written for someone who reads it in a minute; the sections below hold every number.
/// Elements carry classes and data attributes (<c>#summary</c>, <c>tr[data-model]</c>, <c>p.matching[data-training]</c>,
/// <c>figure.layer-grid</c>, <c>ul.best-pairs</c>) that tests and scripts can find.
/// </summary>
public static class SummarySection
{
    /// <summary>The figure group of the summary's figures: not an analysis name (names cannot contain a space).</summary>
    public const string FigureGroup = "summary figures";

    public static IReadOnlyList<ReportFigure> Figures(ReportContent content) =>
        SummaryContent.From(content).Grid is { } grid
            ? [new ReportFigure(FigureGroup, LayerGrid.Title, LayerGrid.FileName, LayerGridFigure.RenderPng(grid))]
            : [];

    public static void Append(StringBuilder html, ReportContent content, IReadOnlyList<ReportFigure> figures)
    {
        var summary = SummaryContent.From(content);
        if (summary.IsEmpty) return;
        html.Append("<section class=\"summary\" id=\"summary\">\n<h2>Summary</h2>\n");
        Models(html, summary);
        Matchings(html, summary);
        if (figures.FirstOrDefault(f => f.Analysis == FigureGroup && f.FileName == LayerGrid.FileName) is { } grid)
            html.Append("<h3>Layer × layer similarity</h3>\n")
                .Append("<p>Each panel compares every captured layer of one model with every layer of the other over the same tokens ")
                .Append("(1: the same representation up to rotation and scale; all panels on one colour scale). Trained pairs are on the left, untrained controls on the right.</p>\n")
                .Append($"<figure class=\"layer-grid\"><img src=\"data:image/png;base64,{Convert.ToBase64String(grid.Png)}\" alt=\"{Html.Escape(grid.Title)}\">")
                .Append($"<figcaption>{Html.Escape(grid.Title)} — {Html.Escape(grid.FileName)}</figcaption></figure>\n");
        BestPairs(html, summary);
        html.Append("</section>\n");
    }

    private static void Models(StringBuilder html, SummaryContent summary)
    {
        if (summary.Models.Count == 0 && summary.Baselines.Count == 0) return;
        html.Append("<h3>What the models learned</h3>\n");
        var dataset = summary.Models.Concat(summary.Baselines).Select(e => e.Dataset).Distinct().ToList();
        html.Append($"<p>Held-out next-token perplexity (lower is better), from what each model's folder recorded when the run started: {Html.Escape(string.Join("; ", dataset))}.</p>\n");
        var baseline = summary.Baselines.FirstOrDefault();
        html.Append("<table class=\"summary-models\">\n<tr><th>model</th><th>what it is</th><th>parameters</th><th>training</th><th>held-out loss (nats/token)</th><th>perplexity</th>");
        if (baseline is not null) html.Append($"<th>vs {Html.Escape(baseline.Model)}</th>");
        html.Append("</tr>\n");
        foreach (var e in summary.Models.Concat(summary.Baselines))
        {
            string training = e.TrainingSteps switch
            {
                null => "—",
                0 => "none (random weights)",
                int steps => $"{steps:N0} steps, {e.TrainingTokens ?? 0:N0} tokens",
            };
            html.Append($"<tr data-model=\"{Html.Escape(e.Model)}\" data-role=\"{Html.Escape(e.Role)}\"><td>{Html.Escape(e.Model)}</td><td>{Html.Escape(e.Description)}</td>")
                .Append($"<td>{(e.Parameters is { } p ? p.ToString("N0", CultureInfo.InvariantCulture) : "—")}</td><td>{Html.Escape(training)}</td>")
                .Append($"<td>{e.Loss.ToString("F3", CultureInfo.InvariantCulture)}</td><td class=\"perplexity\">{e.Perplexity.ToString("F1", CultureInfo.InvariantCulture)}</td>");
            if (baseline is not null) html.Append($"<td>{Html.Escape(Versus(e, baseline))}</td>");
            html.Append("</tr>\n");
        }
        html.Append("</table>\n");
    }

    /// <summary>"5.80× lower" / "3.93× higher" / "—" for the baseline itself.</summary>
    public static string Versus(ModelEvaluationRow model, ModelEvaluationRow baseline)
    {
        if (model.Role == ModelEvaluationRow.BaselineRole) return "—";
        double ratio = baseline.Perplexity / model.Perplexity;
        return ratio >= 1 ? $"{ratio.ToString("F2", CultureInfo.InvariantCulture)}× lower" : $"{(1 / ratio).ToString("F2", CultureInfo.InvariantCulture)}× higher";
    }

    private static void Matchings(StringBuilder html, SummaryContent summary)
    {
        if (summary.Matchings.Count == 0) return;
        html.Append("<h3>Do the models learn the same features?</h3>\n")
            .Append("<p>Each model's SAE splits its activations into features; <code>feature_matching</code> pairs every feature of B with its most ")
            .Append("correlated feature of A over the same tokens (Lan et al., arXiv 2410.06981). A match count alone is no evidence — features that fire on ")
            .Append("the same tokens match even between random networks. The test is whether the matched features' decoder directions agree: paired SVCCA ")
            .Append("(and RSA) of the paired decoder rows against the same rows shuffled, and against random subsets of features.</p>\n");
        foreach (var m in summary.Matchings.OrderBy(m => Rank(m.Training)).ThenBy(m => m.Analysis, StringComparer.Ordinal))
            html.Append($"<p class=\"matching\" data-analysis=\"{Html.Escape(m.Analysis)}\" data-training=\"{Html.Escape(m.Training)}\" ")
                .Append($"data-significant=\"{(m.Svcca?.Significant(SummaryContent.Level) == true ? "true" : "false")}\">")
                .Append(Html.Escape(Sentence(m))).Append("</p>\n");
        HtmlReport.Table(html, "Feature matching against its baselines", ["analysis", "models", "SAE sites", "matched", "paired SVCCA", "shuffled", "p", "random subsets", "p", "paired RSA", "shuffled", "p"],
            summary.Matchings.OrderBy(m => Rank(m.Training)).ThenBy(m => m.Analysis, StringComparer.Ordinal).Select(m => new[]
            {
                m.Analysis, $"{m.ModelA} ~ {m.ModelB}{(m.Training == "" ? "" : $" ({m.Training})")}", $"{m.SiteA} ~ {m.SiteB}", Matched(m),
                N(m.Svcca?.Observed), MeanStd(m.Svcca?.ShuffledMean, m.Svcca?.ShuffledStd), P(m.Svcca?.ShuffledP), MeanStd(m.Svcca?.SubsetsMean, m.Svcca?.SubsetsStd), P(m.Svcca?.SubsetsP),
                N(m.Rsa?.Observed), MeanStd(m.Rsa?.ShuffledMean, m.Rsa?.ShuffledStd), P(m.Rsa?.ShuffledP),
            }));
    }

    /// <summary>
    /// "llama-a ~ gpt2-b (trained): 169 of 384 features matched at r ≥ 0.1; paired SVCCA 0.72 vs 0.70 ± 0.004 shuffled
    /// (p = 0.001, none of 1,000 shuffles reached it); paired RSA 0.14 vs 0.00 ± 0.01 (p = 0.001). Above chance (p &lt; 0.01)."
    /// </summary>
    public static string Sentence(MatchingSummary m)
    {
        var text = new StringBuilder($"{m.ModelA} ~ {m.ModelB}{(m.Training == "" ? "" : $" ({m.Training})")}: {Matched(m)}");
        text.Append(m.MinCorrelation is { } r ? $" features matched at r ≥ {N(r, 2)}" : " features matched");
        if (m.Svcca is not { } s)
        {
            text.Append("; too few pairs for the paired-decoder comparison.");
            return text.ToString();
        }
        text.Append($"; paired SVCCA {N(s.Observed)} vs {N(s.ShuffledMean)} ± {N(s.ShuffledStd)} shuffled ({PWithDraws(s.ShuffledP, m.Permutations, "shuffles")})");
        if (m.Rsa is { } rsa) text.Append($"; paired RSA {N(rsa.Observed)} vs {N(rsa.ShuffledMean)} ± {N(rsa.ShuffledStd)} ({PWithDraws(rsa.ShuffledP, m.Permutations, "shuffles")})");
        text.Append(s.ShuffledP < SummaryContent.Level
            ? $". The pairing is above chance (p < {N(SummaryContent.Level, 2)})."
            : $". Not above chance (p ≥ {N(SummaryContent.Level, 2)}): the matched decoders agree no better than shuffled pairings.");
        return text.ToString();
    }

    /// <summary>"169 of 384" (B features matched of B's SAE width), or "169" when the width was not recorded.</summary>
    private static string Matched(MatchingSummary m) => m.FeaturesB is { } width ? $"{m.Pairs:N0} of {width:N0}" : $"{m.Pairs:N0}";

    /// <summary>"p = 0.001, none of 1,000 shuffles reached it" at the smallest p N draws can give; "p = 0.38" otherwise.</summary>
    private static string PWithDraws(double p, long? draws, string what)
    {
        if (draws is not { } n) return $"p = {P(p)}";
        long reached = (long)Math.Round(p * (n + 1)) - 1;
        return reached == 0 ? $"p = {P(p)}, none of {n:N0} {what} reached it" : $"p = {P(p)}, {reached:N0} of {n:N0} {what} reached it";
    }

    private static void BestPairs(StringBuilder html, SummaryContent summary)
    {
        var withPairs = summary.Matchings.Where(m => m.Best.Count > 0).OrderBy(m => Rank(m.Training)).ThenBy(m => m.Analysis, StringComparer.Ordinal).ToList();
        if (withPairs.Count == 0) return;
        html.Append("<h3>Strongest matched pairs</h3>\n<p>Each link opens the two features side by side (their top contexts, when a <code>features</code> analysis described the SAE sites).</p>\n");
        foreach (var m in withPairs)
        {
            html.Append($"<p>{Html.Escape(m.ModelA)} ~ {Html.Escape(m.ModelB)}{(m.Training == "" ? "" : $" ({Html.Escape(m.Training)})")}, {Html.Escape(m.Analysis)}:</p>\n")
                .Append($"<ul class=\"best-pairs\" data-analysis=\"{Html.Escape(m.Analysis)}\">\n");
            foreach (var pair in m.Best)
            {
                html.Append($"<li><a class=\"pair\" href=\"{Html.Escape(pair.PairPage)}\">{Html.Escape(m.ModelA)} feature {pair.A} ~ {Html.Escape(m.ModelB)} feature {pair.B}</a> (r = {N(pair.Correlation)})");
                if (pair.FeaturePageA is { } a) html.Append($" · <a class=\"card-a\" href=\"{Html.Escape(a)}\">card {pair.A}</a>");
                if (pair.FeaturePageB is { } b) html.Append($" · <a class=\"card-b\" href=\"{Html.Escape(b)}\">card {pair.B}</a>");
                html.Append("</li>\n");
            }
            html.Append("</ul>\n");
        }
    }

    private static int Rank(string training) => training switch { "trained" => 0, "untrained" => 2, "" => 3, _ => 1 };

    private static string N(double? value, int digits = 3) =>
        value is { } v ? v.ToString(digits == 2 ? "0.0#" : "0.000", CultureInfo.InvariantCulture) : "—";

    private static string MeanStd(double? mean, double? std) => mean is { } m && std is { } s ? $"{N(m)} ± {N(s)}" : "—";

    private static string P(double? p) => p is { } v ? v.ToString(v < 0.01 ? "0.0###" : "0.00#", CultureInfo.InvariantCulture) : "—";
}
