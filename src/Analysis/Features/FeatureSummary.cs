namespace Sweep.Analysis.Features;

/// <summary>
/// Settings of the <c>features</c> analysis of one site (docs/analyses.md, "Features").
/// </summary>
/// <param name="TopK">Top activating contexts kept per feature.</param>
/// <param name="Window">Tokens of context around each kept example, within its sequence.</param>
/// <param name="SamplesPerStratum">Seeded random examples per feature and activation stratum (<see cref="IntervalSamples"/>); 0 for none.</param>
/// <param name="Seed">Seed of the samples' priorities.</param>
/// <param name="Partners">Co-activation partners per feature and measure (SAE sites); 0 for none.</param>
/// <param name="CoActivationTiles">Feature tiles co-activation is split into, each one pass over the shards (bounds its memory).</param>
/// <param name="LogitTokens">Promoted and suppressed tokens per feature (SAE sites of a model with an unembedding); 0 for none.</param>
/// <param name="NeuronpediaId">Overrides the SAE's own <c>neuronpedia_id</c> for links (<c>{model}/{sae-id}</c>).</param>
public sealed record FeaturesParameters(
    int TopK = TopContexts.DefaultK,
    ContextWindow? Window = null,
    int SamplesPerStratum = IntervalSamples.DefaultPerStratum,
    int Seed = 0,
    int Partners = 10,
    int CoActivationTiles = 3,
    int LogitTokens = LogitEffects.DefaultK,
    string? NeuronpediaId = null)
{
    public ContextWindow ContextWindow => Window ?? new ContextWindow();
}

/// <summary>What <see cref="FeatureSummary.Finish"/> gives for a site: per feature its statistics, histogram and examples.</summary>
public sealed record FeatureSiteResult(
    int Width, long Tokens, IReadOnlyList<FeatureStat> Stats,
    IReadOnlyList<IReadOnlyList<HistogramBin>> Histograms, IReadOnlyList<FeatureExample> Examples);

/// <summary>
/// The per-site partial of the <c>features</c> analysis: <see cref="FeatureStatistics"/>, <see cref="ActivationHistogram"/>,
/// <see cref="TopContexts"/> and <see cref="IntervalSamples"/>, folded from the same blocks, merged and stored together
/// (co-activation has its own partials per feature tile: <see cref="CoActivation"/>; logit effects need only weights:
/// <see cref="LogitEffects"/>). Merge is associative and commutative, so any shard ranges, merge tree and retries give
/// the same result (sums up to float64 rounding).
/// </summary>
public sealed class FeatureSummary
{
    public const string StateKind = "features/1";

    public FeatureStatistics Statistics { get; }
    public ActivationHistogram Histogram { get; }
    public TopContexts Top { get; }
    public IntervalSamples? Samples { get; }

    public FeatureSummary(int width, FeaturesParameters parameters)
        : this(new FeatureStatistics(width), new ActivationHistogram(width), new TopContexts(width, parameters.TopK, parameters.ContextWindow),
               parameters.SamplesPerStratum > 0 ? new IntervalSamples(width, parameters.SamplesPerStratum, parameters.Seed, parameters.ContextWindow) : null) { }

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

    /// <summary>The partial of a range of blocks (e.g. one map unit's shards).</summary>
    public static FeatureSummary Over(IEnumerable<FeatureBlock> blocks, int width, FeaturesParameters parameters)
    {
        var summary = new FeatureSummary(width, parameters);
        foreach (var block in blocks) summary.Fold(block);
        return summary;
    }

    public FeatureSummary Merge(FeatureSummary other)
    {
        if ((Samples is null) != (other.Samples is null)) throw new ArgumentException("cannot merge feature summaries with and without samples");
        return new FeatureSummary(Statistics.Merge(other.Statistics), Histogram.Merge(other.Histogram), Top.Merge(other.Top),
            Samples is null ? null : Samples.Merge(other.Samples!));
    }

    /// <summary>Approximate memory of the kept examples, in bytes (the statistics and histogram add 8·width·(4 + 102)).</summary>
    public long ExampleBytes(int windowTokens) => (Top.Count + (Samples?.Count ?? 0)) * (96L + 8L * windowTokens);

    public PartialState ToState()
    {
        var state = new PartialState(StateKind)
            .Embed("statistics.", Statistics.ToState()).Embed("histogram.", Histogram.ToState()).Embed("top.", Top.ToState());
        return Samples is null ? state : state.Embed("samples.", Samples.ToState());
    }

    public static FeatureSummary FromState(PartialState state)
    {
        state.Expect(StateKind);
        return new FeatureSummary(
            FeatureStatistics.FromState(state.Part("statistics.", FeatureStatistics.StateKind)),
            ActivationHistogram.FromState(state.Part("histogram.", ActivationHistogram.StateKind)),
            TopContexts.FromState(state.Part("top.", TopContexts.StateKind)),
            state.HasPart("samples.") ? IntervalSamples.FromState(state.Part("samples.", IntervalSamples.StateKind)) : null);
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
