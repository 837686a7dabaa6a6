using System.Text.Json;
using Sweep.Analysis.Features;
using Sweep.Analysis.Measures;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// The rows a finished <c>features</c> analysis stores (the feature tables, docs/schema.md), from the pure results of
/// <see cref="FeaturesMeasure"/>: token ids become readable texts through the corpus tokenizer (<see cref="TokenTexts"/>),
/// and an SAE site gets its Neuronpedia id (the job's <c>saes[i].neuronpedia_id</c>, else the SAE folder's).
/// </summary>
public static class FeatureResultRows
{
    /// <summary>All rows of a target's features outcome.</summary>
    public static FeatureResults From(AnalysisTarget target, FeatureOutcome outcome, TokenTexts texts)
    {
        var (analysis, model, site) = (target.Analysis.Name, target.A.Model, target.A.Site);
        var parameters = (FeaturesParameters)target.Parameters;
        var rows = Site(analysis, model, site, target.SaeA?.Name, target.SaeA?.Published?.Neuronpedia,
            parameters.Stored(target.Measure.Data), outcome.Site, texts);
        return rows with
        {
            Coactivations = CoActivations(analysis, model, site, outcome.Partners).Coactivations,
            Logits = Logits(analysis, model, site, outcome.Logits, texts).Logits,
        };
    }

    /// <param name="sae">The SAE's name for a code site, null for a dense site.</param>
    /// <param name="neuronpediaId">The SAE's Neuronpedia id (<c>{model}/{sae-id}</c>); null or empty for none.</param>
    /// <param name="settings">The analysis settings, stored as <c>feature_sites.params</c> (the histogram's bins are added).</param>
    public static FeatureResults Site(string analysis, string model, string site, string? sae, string? neuronpediaId,
        IReadOnlyDictionary<string, object> settings, FeatureSiteResult result, TokenTexts texts)
    {
        var stored = new Dictionary<string, object>(settings)
        {
            ["histogram"] = $"log10 bins: {ActivationHistogram.BinsPerDecade} per decade from 1e{ActivationHistogram.LowestExponent} to 1e{ActivationHistogram.HighestExponent}",
        };
        var siteRow = new FeatureSiteRow(analysis, model, site, sae, result.Width, result.Tokens,
            string.IsNullOrWhiteSpace(neuronpediaId) ? null : neuronpediaId, JsonSerializer.Serialize(stored));
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
