using System.Globalization;
using System.Text;
using Sweep.Analysis.Features;
using Sweep.Storage.Database;

namespace Sweep.Cli.Features;

/// <summary>
/// One feature's card as plain text for the terminal (<c>sweep features</c>): statistics, histogram, top contexts and
/// samples with the firing token in [[ ]] and the window's other firing tokens in [ ], co-active partners, logit
/// effects, the Neuronpedia link.
/// </summary>
public static class FeatureCardText
{
    public static string Render(FeatureCard card, int feature)
    {
        var site = card.Site;
        var text = new StringBuilder();
        text.AppendLine($"feature {feature} of {(site.Sae is null ? "site" : $"SAE {site.Sae}")} ({site.Model} {site.Site}), analysis {site.Analysis}");
        if (site.NeuronpediaUrl(feature) is { } url) text.AppendLine($"neuronpedia: {url}");
        if (card.Stat is not { } s)
        {
            text.AppendLine("no statistics stored for this feature");
            return text.ToString();
        }
        text.AppendLine($"tokens {s.NTokens} · fired {s.Fired} ({Number(100 * s.Frequency)}%) · mean {Number(s.MeanActivation)} · max {Number(s.MaxActivation)} · mean when active {(s.MeanWhenActive is { } m ? Number(m) : "—")}");
        if (s.HistogramBins.Length > 0)
        {
            text.AppendLine("activation when firing (log bins):");
            long top = s.HistogramCounts.Max();
            for (int i = 0; i < s.HistogramBins.Length; i++)
            {
                int bin = s.HistogramBins[i];
                var range = $"[{Number(ActivationHistogram.Lower(bin))}, {Number(ActivationHistogram.Upper(bin))})";
                text.AppendLine($"  {range,-22} {s.HistogramCounts[i],8} {new string('#', (int)Math.Ceiling(30.0 * s.HistogramCounts[i] / top))}");
            }
        }
        var top20 = card.Examples.Where(e => e.Kind == "top").ToList();
        if (top20.Count > 0) text.AppendLine("top activations:");
        foreach (var e in top20) text.AppendLine(Context(e));
        int? stratum = null;
        foreach (var e in card.Examples.Where(e => e.Kind == "sample"))
        {
            if (e.Stratum != stratum)
            {
                stratum = e.Stratum;
                text.AppendLine($"samples with activation in [{Number(IntervalSamples.Lower(stratum!.Value))}, {Number(IntervalSamples.Upper(stratum.Value))}):");
            }
            text.AppendLine(Context(e));
        }
        foreach (var measure in new[] { "correlation", "jaccard" })
        {
            var partners = card.Coactivations.Where(p => p.Measure == measure).ToList();
            if (partners.Count > 0)
                text.AppendLine($"co-active by {measure}: " + string.Join(", ", partners.Select(p => $"{p.Partner} ({Number(p.Value)}, {p.CoFirings} together)")));
        }
        foreach (var direction in new[] { "promoted", "suppressed" })
        {
            var tokens = card.Logits.Where(l => l.Direction == direction).ToList();
            if (tokens.Count > 0) text.AppendLine($"{direction} tokens: " + string.Join(", ", tokens.Select(l => $"'{l.TokenText}' {Number(l.Effect)}")));
        }
        return text.ToString();
    }

    /// <summary>"  3.5  seq 7 pos 4  a↵[[ cat]]'s": the example's own token in [[ ]], other firing tokens of the window in [ ].</summary>
    public static string Context(TopExampleRow e)
    {
        var line = new StringBuilder();
        line.Append(CultureInfo.InvariantCulture, $"  {Number(e.Activation),-9} seq {e.Seq} pos {e.Pos}  ");
        for (int i = 0; i < e.WindowTexts.Length; i++)
        {
            bool own = e.WindowStart + i == e.Pos, fires = e.WindowActivations[i] > 0;
            line.Append(own ? "[[" : fires ? "[" : "").Append(e.WindowTexts[i]).Append(own ? "]]" : fires ? "]" : "");
        }
        return line.ToString();
    }

    private static string Number(double value) => value.ToString("G4", CultureInfo.InvariantCulture);
}
