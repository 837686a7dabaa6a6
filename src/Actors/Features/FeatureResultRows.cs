using System.Text.Json;
using Sweep.Analysis.Features;
using Sweep.Models.Tokenizers;
using Sweep.Storage.Database;

namespace Sweep.Actors.Features;

/// <summary>
/// The rows a finished <c>features</c> analysis stores, from the pure results of <c>Sweep.Analysis.Features</c>: token
/// ids become readable texts through the corpus tokenizer (<see cref="TokenTexts"/>). This is the finalize step's
/// last mile; the planner and executors that run the fold/merge units call it once per site (statistics and
/// examples), per co-activation tile and once for the logit effects.
/// </summary>
public static class FeatureResultRows
{
    /// <param name="sae">The SAE's name for a code site, null for a dense site.</param>
    /// <param name="neuronpediaId">The job's override, else the SAE's own <c>neuronpedia_id</c>; null or empty for none.</param>
    public static FeatureResults Site(string analysis, string model, string site, string? sae, string? neuronpediaId,
        FeaturesParameters parameters, FeatureSiteResult result, TokenTexts texts)
    {
        var window = parameters.ContextWindow;
        var settings = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["top_k"] = parameters.TopK, ["window_before"] = window.Before, ["window_after"] = window.After,
            ["samples_per_stratum"] = parameters.SamplesPerStratum, ["seed"] = parameters.Seed,
            ["histogram"] = $"log10 bins: {ActivationHistogram.BinsPerDecade} per decade from 1e{ActivationHistogram.LowestExponent} to 1e{ActivationHistogram.HighestExponent}",
        });
        var siteRow = new FeatureSiteRow(analysis, model, site, sae, result.Width, result.Tokens,
            string.IsNullOrWhiteSpace(neuronpediaId) ? null : neuronpediaId, settings);
        var stats = result.Stats.Select(s => new FeatureStatRow(analysis, model, site, s.Feature, s.Tokens, s.Fired, s.Frequency, s.Mean, s.Max,
            s.MeanWhenActive, result.Histograms[s.Feature].Select(b => (short)b.Bin).ToArray(), result.Histograms[s.Feature].Select(b => b.Count).ToArray())).ToList();
        var examples = result.Examples.Select(e => new TopExampleRow(analysis, model, site, e.Feature, e.Kind, e.Stratum, e.Rank, e.Activation,
            e.Seq, e.Pos, e.Token, texts[e.Token], e.WindowStart, e.WindowTokens, texts.Of(e.WindowTokens), e.WindowActivations)).ToList();
        return new FeatureResults([siteRow], stats, examples);
    }

    public static FeatureResults CoActivations(string analysis, string model, string site, IEnumerable<CoActivationPartner> partners) =>
        new(Coactivations: partners.Select(p => new FeatureCoactivationRow(analysis, model, site, p.Feature, p.Measure, p.Rank, p.Partner, p.Value, p.CoFirings)).ToList());

    public static FeatureResults Logits(string analysis, string model, string site, IEnumerable<LogitEffect> effects, TokenTexts texts) =>
        new(Logits: effects.Select(e => new FeatureLogitRow(analysis, model, site, e.Feature, e.Direction, e.Rank, e.Token, texts[e.Token], e.Effect)).ToList());
}
