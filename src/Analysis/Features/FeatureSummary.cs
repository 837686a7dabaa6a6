using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Features;

/// <summary>What <see cref="FeatureSummary.Finish"/> gives for a site: per feature its statistics, histogram and examples.</summary>
public sealed record FeatureSiteResult(
    int Width, long Tokens, IReadOnlyList<FeatureStat> Stats,
    IReadOnlyList<IReadOnlyList<HistogramBin>> Histograms, IReadOnlyList<FeatureExample> Examples);

/// <summary>
/// Everything the <c>features</c> analysis found about one site (<see cref="FeaturesMeasure"/>): statistics, histograms
/// and examples; co-activation partners (SAE sites; empty otherwise); logit effects (SAE sites of a model with an
/// unembedding; empty otherwise). Token ids, not texts: the pipeline decodes them with the corpus tokenizer.
/// </summary>
public sealed record FeatureOutcome(FeatureSiteResult Site, IReadOnlyList<CoActivationPartner> Partners, IReadOnlyList<LogitEffect> Logits);

/// <summary>
/// The per-site statistics of the <c>features</c> analysis: <see cref="FeatureStatistics"/>, <see cref="ActivationHistogram"/>,
/// <see cref="TopContexts"/> and <see cref="IntervalSamples"/>, folded from the same blocks, merged and stored together
/// (co-activation has its own partials per feature tile: <see cref="CoActivation"/>; logit effects need only weights:
/// <see cref="LogitEffects"/>). Merge is associative and commutative, so any shard ranges, merge tree and retries give
/// the same result (sums up to float64 rounding).
/// </summary>
public sealed class FeatureSummary
{
    public FeatureStatistics Statistics { get; }
    public ActivationHistogram Histogram { get; }
    public TopContexts Top { get; }
    public IntervalSamples? Samples { get; }

    /// <param name="samplesPerStratum">Seeded random examples per feature and activation stratum; 0 for none.</param>
    public FeatureSummary(int width, int topK, ContextWindow window, int samplesPerStratum, int seed)
        : this(new FeatureStatistics(width), new ActivationHistogram(width), new TopContexts(width, topK, window),
               samplesPerStratum > 0 ? new IntervalSamples(width, samplesPerStratum, seed, window) : null) { }

    private FeatureSummary(FeatureStatistics statistics, ActivationHistogram histogram, TopContexts top, IntervalSamples? samples)
    {
        Statistics = statistics; Histogram = histogram; Top = top; Samples = samples;
    }

    public int Width => Statistics.Width;

    public void Fold(FeatureBlock block)
    {
        Statistics.Fold(block);
        Histogram.Fold(block);
        Top.Fold(block);
        Samples?.Fold(block);
    }

    public FeatureSummary Merge(FeatureSummary other)
    {
        if ((Samples is null) != (other.Samples is null)) throw new ArgumentException("cannot merge feature summaries with and without samples");
        return new FeatureSummary(Statistics.Merge(other.Statistics), Histogram.Merge(other.Histogram), Top.Merge(other.Top),
            Samples is null ? null : Samples.Merge(other.Samples!));
    }

    /// <summary>Approximate memory of the kept examples, in bytes (the statistics and histogram add 8·width·(4 + 102)).</summary>
    public long ExampleBytes(int windowTokens) => (Top.Count + (Samples?.Count ?? 0)) * (96L + 8L * windowTokens);

    /// <summary>Partial sections: the statistics', the histogram's, the top contexts', then <c>samples</c> (0 or 1) and the samples'.</summary>
    public void Write(PartialWriter w)
    {
        Statistics.Write(w);
        Histogram.Write(w);
        Top.Write(w);
        w.Write("samples", Samples is null ? 0L : 1L);
        Samples?.Write(w);
    }

    /// <summary>Reads what <see cref="Write"/> wrote; the partial must have been made with these settings.</summary>
    public static FeatureSummary Read(PartialReader r, int width, int topK, ContextWindow window, int samplesPerStratum, int seed)
    {
        var statistics = FeatureStatistics.Read(width, r);
        var histogram = ActivationHistogram.Read(width, r);
        var top = TopContexts.Read(r, width, topK, window);
        bool hasSamples = r.ReadInt64("samples") == 1;
        if (hasSamples != samplesPerStratum > 0)
            throw new InvalidDataException($"feature summary {(hasSamples ? "with" : "without")} samples, expected {samplesPerStratum} per stratum");
        return new FeatureSummary(statistics, histogram, top, hasSamples ? IntervalSamples.Read(r, width, samplesPerStratum, seed, window) : null);
    }

    public FeatureSiteResult Finish()
    {
        var stats = Statistics.Finish();
        var histograms = Enumerable.Range(0, Width).Select(f => Histogram.Finish(f)).ToList();
        var examples = Enumerable.Range(0, Width)
            .SelectMany(f => Top.Finish(f).Concat(Samples?.Finish(f) ?? [])).ToList();
        return new FeatureSiteResult(Width, Statistics.Tokens, stats, histograms, examples);
    }
}
