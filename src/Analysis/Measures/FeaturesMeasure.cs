using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <c>features</c>: how many contexts, how much of each, how many samples, and (SAE sites) how many partners and
/// tokens per feature. docs/analyses.md, "Features".
/// </summary>
public sealed record FeaturesParameters : MeasureParameters
{
    /// <summary>Longest window side, in tokens (a window is at most this many tokens before and after).</summary>
    public const int MaxWindow = 1024;
    public const int MaxTopK = 1000;
    public const int MaxSamplesPerStratum = 100;

    public int TopK { get; init; } = TopContexts.DefaultK;
    public int WindowBefore { get; init; } = 16;
    public int WindowAfter { get; init; } = 4;
    public int SamplesPerStratum { get; init; } = IntervalSamples.DefaultPerStratum;
    public int Seed { get; init; }
    public int Partners { get; init; } = 10;
    public int CoActivationTiles { get; init; } = 3;
    public int LogitTokens { get; init; } = LogitEffects.DefaultK;

    public ContextWindow Window => new(WindowBefore, WindowAfter);

    /// <summary>The settings as they are stored with the results (<c>feature_sites.params</c>, the metrics' params).</summary>
    public Dictionary<string, object> Stored(SiteData data)
    {
        var stored = new Dictionary<string, object>
        {
            ["top_k"] = TopK, ["window_before"] = WindowBefore, ["window_after"] = WindowAfter,
            ["samples_per_stratum"] = SamplesPerStratum, ["seed"] = Seed,
        };
        if (data == SiteData.Sparse)
            (stored["partners"], stored["co_activation_tiles"], stored["logit_tokens"]) = (Partners, CoActivationTiles, LogitTokens);
        return stored;
    }
}

/// <summary>
/// One piece of a <c>features</c> partial: piece 0 is the site's <see cref="FeatureSummary"/> (statistics, histograms,
/// top contexts, samples); pieces 1 … T of an SAE site are its co-activation tiles (<see cref="CoActivation"/>).
/// </summary>
public sealed class FeaturesPartial : IPartial
{
    public FeatureSummary? Summary { get; }
    public CoActivation? Tile { get; }

    public FeaturesPartial(FeatureSummary summary) => Summary = summary;
    public FeaturesPartial(CoActivation tile) => Tile = tile;
}

/// <summary>
/// <c>features</c>: what each feature of one site does (a one-site measure). Conventions:
/// <list type="bullet">
/// <item>A <b>feature</b> is an SAE latent of a code site (<see cref="SiteData.Sparse"/>) or a unit of a dense site
/// (<see cref="SiteData.Dense"/>). It <b>fires</b> on a token where its value is &gt; 0 (codes not stored are 0; a
/// dense unit may be negative, only its positive values fire).</item>
/// <item>Every block must hold whole sequences, positions 0, 1, … consecutive, so that a kept token's context window
/// (up to <c>window_before</c> tokens before and <c>window_after</c> after, within its sequence) is in the same block.
/// The pipeline hands one corpus shard per block and a sequence never spans two shards; a block that starts inside a
/// sequence is refused.</item>
/// <item>Piece 0 folds the statistics (fired, frequency, mean, max, mean when active), the log-binned histograms, the
/// <c>top_k</c> top activating contexts (ties to the earlier token) and <c>samples_per_stratum</c> seeded samples per
/// activation stratum (<see cref="FeatureSummary"/>). For an SAE site with <c>partners</c> &gt; 0, pieces 1 … T
/// (T = <c>co_activation_tiles</c>, at most the width) are the interleaved co-activation tiles, each one pass over the
/// blocks, exact from the sparse cross sums of the codes with themselves and of their firing indicators
/// (<see cref="CoActivation"/>). Dense sites get no co-activation (correlate the site with itself instead).</item>
/// <item>Finishing: per feature its statistics, histogram and examples, top <c>partners</c> by correlation and by
/// Jaccard, and (SAE site, <c>logit_tokens</c> &gt; 0, side input <see cref="SideInputs.Logits"/>) the tokens its
/// decoder direction promotes and suppresses most (<see cref="LogitEffects"/>): a <see cref="FeatureOutcome"/>. Metric
/// rows: <c>features_dead</c> (features that never fired) and <c>features_l0</c> (mean firing features per token).</item>
/// </list>
/// Merging is associative and commutative: sums add (float64), maxima and bounded heaps keep the same elements whatever
/// the order, so any ranges, merge tree and retries give the same rows (sums up to float64 rounding).
/// </summary>
public sealed class FeaturesMeasure(SiteData data) : Measure<FeaturesParameters, FeaturesPartial>
{
    public override string Kind => "features";
    public override SiteData Data => data;
    public override Arity Arity => Arity.Site;
    public override FeaturesParameters DefaultParameters { get; } = new();

    private static readonly IReadOnlyList<ParameterKey> DenseKeys =
    [
        ParameterKeys<FeaturesParameters>.Integer("top_k", 1, $"an integer from 1 to {FeaturesParameters.MaxTopK} (contexts per feature)", p => p.TopK, (p, v) => p with { TopK = v }),
        ParameterKeys<FeaturesParameters>.Integer("window_before", 0, $"an integer from 0 to {FeaturesParameters.MaxWindow} (tokens)", p => p.WindowBefore, (p, v) => p with { WindowBefore = v }),
        ParameterKeys<FeaturesParameters>.Integer("window_after", 0, $"an integer from 0 to {FeaturesParameters.MaxWindow} (tokens)", p => p.WindowAfter, (p, v) => p with { WindowAfter = v }),
        ParameterKeys<FeaturesParameters>.Integer("samples_per_stratum", 0, $"an integer from 0 to {FeaturesParameters.MaxSamplesPerStratum}", p => p.SamplesPerStratum, (p, v) => p with { SamplesPerStratum = v }),
        ParameterKeys<FeaturesParameters>.Integer("seed", 0, "an integer of at least 0", p => p.Seed, (p, v) => p with { Seed = v }),
    ];

    private static readonly IReadOnlyList<ParameterKey> SparseKeys =
    [
        .. DenseKeys,
        ParameterKeys<FeaturesParameters>.Integer("partners", 0, "an integer of at least 0 (0: no co-activation)", p => p.Partners, (p, v) => p with { Partners = v }),
        ParameterKeys<FeaturesParameters>.Integer("co_activation_tiles", 1, "an integer of at least 1", p => p.CoActivationTiles, (p, v) => p with { CoActivationTiles = v }),
        ParameterKeys<FeaturesParameters>.Integer("logit_tokens", 0, "an integer of at least 0 (0: no logit effects)", p => p.LogitTokens, (p, v) => p with { LogitTokens = v }),
    ];

    public override IReadOnlyList<ParameterKey> Keys => data == SiteData.Sparse ? SparseKeys : DenseKeys;

    public override ParameterProblem? Check(FeaturesParameters p) =>
        p.TopK > FeaturesParameters.MaxTopK ? new("top_k", $"is {p.TopK}, expected at most {FeaturesParameters.MaxTopK} contexts per feature")
        : p.WindowBefore > FeaturesParameters.MaxWindow ? new("window_before", $"is {p.WindowBefore}, expected at most {FeaturesParameters.MaxWindow} tokens")
        : p.WindowAfter > FeaturesParameters.MaxWindow ? new("window_after", $"is {p.WindowAfter}, expected at most {FeaturesParameters.MaxWindow} tokens")
        : p.SamplesPerStratum > FeaturesParameters.MaxSamplesPerStratum ? new("samples_per_stratum", $"is {p.SamplesPerStratum}, expected at most {FeaturesParameters.MaxSamplesPerStratum}")
        : null;

    /// <summary>Co-activation tiles of a site of this shape (none for a dense site or without partners).</summary>
    public int Tiles(FeaturesParameters p, MeasureShape shape) =>
        data == SiteData.Sparse && p.Partners > 0 ? Math.Min(p.CoActivationTiles, shape.WidthA) : 0;

    public override int Pieces(FeaturesParameters p, MeasureShape shape) => 1 + Tiles(p, shape);

    public override long PartialBytes(FeaturesParameters p, MeasureShape shape)
    {
        long width = shape.WidthA;
        long windowTokens = p.WindowBefore + 1L + p.WindowAfter;
        // Statistics and histograms; kept examples (top k, and samples in a few strata per feature); co-activation's two cross-sum sets.
        long summary = 8 * width * (4 + ActivationHistogram.Bins) + width * (p.TopK + 4L * p.SamplesPerStratum) * (40 + 8 * windowTokens);
        return summary + (Tiles(p, shape) > 0 ? 2 * CodeCorrelationMeasure.Estimate(new MeasureShape(shape.WidthA, shape.WidthA, data)) : 0);
    }

    public override FeaturesPartial Fold(FeaturesParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        if (piece > 0)
            return new(CoActivation.Fold(blocks().Select(b => b.A.SparseCodes), shape.WidthA, piece - 1, Tiles(p, shape)));
        var summary = new FeatureSummary(shape.WidthA, p.TopK, p.Window, p.SamplesPerStratum, p.Seed);
        foreach (var block in blocks()) summary.Fold(ToFeatureBlock(block, shape.WidthA));
        return new(summary);
    }

    /// <summary>A block as the feature statistics fold it, refused unless it starts a sequence (see the conventions).</summary>
    private FeatureBlock ToFeatureBlock(MeasureBlock block, int width)
    {
        var t = block.Tokens;
        if (t.Rows > 0 && t.Pos[0] != 0)
            throw new ArgumentException($"a block starts inside sequence {t.Seq[0]} (at position {t.Pos[0]}): the features analysis needs blocks of whole sequences");
        return data == SiteData.Sparse
            ? FeatureBlock.FromSparse(block.A.SparseCodes, t.Seq, t.Pos, t.Token)
            : FeatureBlock.FromDense(block.A.DenseValues, width, t.Seq, t.Pos, t.Token);
    }

    public override FeaturesPartial Merge(FeaturesParameters p, FeaturesPartial a, FeaturesPartial b) =>
        a.Summary is { } summary ? new(summary.Merge(b.Summary ?? throw Mixed())) : new(a.Tile!.MergeConsuming(b.Tile ?? throw Mixed()));

    private static ArgumentException Mixed() => new("cannot merge a features summary with a co-activation tile");

    public override void Write(FeaturesPartial partial, PartialWriter w)
    {
        if (partial.Summary is { } summary) summary.Write(w);
        else partial.Tile!.Write(w);
    }

    public override FeaturesPartial Read(FeaturesParameters p, MeasureShape shape, int piece, PartialReader r) => piece == 0
        ? new(FeatureSummary.Read(r, shape.WidthA, p.TopK, p.Window, p.SamplesPerStratum, p.Seed))
        : new(CoActivation.Read(r, shape.WidthA, piece - 1, Tiles(p, shape)));

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void Take(IEnumerator<FeaturesPartial> e, FeaturesParameters p, ref FeatureSiteResult? site, List<CoActivationPartner> partners)
    {
        var piece = e.Current;
        if (piece.Summary is { } summary) site = summary.Finish();
        else partners.AddRange(piece.Tile!.Finish(p.Partners));
    }

    public override MeasureResult Finish(FeaturesParameters p, MeasureShape shape, IEnumerable<FeaturesPartial> pieces, SideInputs side)
    {
        FeatureSiteResult? site = null;
        var partners = new List<CoActivationPartner>();
        // One piece at a time: the summary's heaps become examples before the first tile is read, and each piece is
        // taken in a method of its own so that no local of this one (unoptimized code keeps locals alive to the end)
        // holds a tile while the next is folded.
        using (var e = pieces.GetEnumerator())
            while (e.MoveNext()) Take(e, p, ref site, partners);
        if (site is null) throw new ArgumentException("a features partial without its summary piece");
        IReadOnlyList<LogitEffect> logits = data == SiteData.Sparse && p.LogitTokens > 0 && side.Logits is { } weights ? weights().Effects(p.LogitTokens) : [];

        var parameters = p.Stored(data);
        long dead = site.Stats.Count(s => s.Fired == 0);
        double l0 = site.Stats.Sum(s => (double)s.Fired) / site.Tokens;
        MeasureValue[] values = [new("features_dead", dead, site.Tokens, parameters), new("features_l0", l0, site.Tokens, parameters)];
        return new MeasureResult(values) { Features = new FeatureOutcome(site, partners, logits) };
    }
}
