using System.Globalization;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Matching;
using Sweep.Analysis.Similarity;

namespace Sweep.Analysis.Measures;

/// <summary><c>feature_matching</c>: the pairing's filters (Lan et al.) and the paired-decoder comparison's settings.</summary>
public sealed record FeatureMatchingParameters : MeasureParameters
{
    /// <summary>Punctuation, whitespace and newline: the default list of the non-concept filter.</summary>
    public static readonly IReadOnlyList<string> DefaultNonConceptTokens = [".", ",", "!", "?", ";", ":", "'", "\"", "-", "(", ")", " ", "\n"];

    public double MinCorrelation { get; init; } = 0.1;
    public bool OneToOne { get; init; } = true;
    public bool Hungarian { get; init; }
    public IReadOnlyList<string> NonConceptTokens { get; init; } = DefaultNonConceptTokens;
    public double NonConceptShare { get; init; } = 0.5;
    public bool SharedTopToken { get; init; }
    public int TopTokens { get; init; } = 10;
    public int Permutations { get; init; } = 100;
    public int Seed { get; init; }
    public double KeepVariance { get; init; } = Svcca.DefaultKeepVariance;
    public InnerDissimilarity Inner { get; init; } = InnerDissimilarity.Correlation;
    public OuterCorrelation Outer { get; init; } = OuterCorrelation.Spearman;

    /// <summary>Whether the token filters need each feature's top activating tokens.</summary>
    public bool NeedsTopTokens => NonConceptTokens.Count > 0 || SharedTopToken;
}

/// <summary>The exact co-active statistics of the pair, and (when the token filters are on) each side's top activations.</summary>
public sealed class MatchingStatistics(SparsePairStatistics stats, TopActivations? topA, TopActivations? topB) : IPartial
{
    public SparsePairStatistics Stats { get; } = stats;
    public TopActivations? TopA { get; } = topA;
    public TopActivations? TopB { get; } = topB;
}

/// <summary>
/// <c>feature_matching</c> between two SAE code sites (Lan et al., arXiv 2410.06981). Over every token: the exact
/// sparse correlation's statistics, and per feature its <c>top_tokens</c> strongest activations in bounded heaps
/// (<see cref="TopActivations"/>: larger value first, ties to the earlier token), both mergeable. Finishing: each B
/// feature paired with its best A feature; the low-correlation, non-concept (side input: the token ids of
/// <c>non_concept_tokens</c> plus BOS/EOS/PAD) and shared-top-token filters; one-to-one or the Hungarian assignment;
/// then, with at least 3 pairs, SVCCA and RSA of the paired decoder rows (side input: both SAEs' decoders) against
/// <c>permutations</c> seeded shuffled-pairing and random-subset baselines. Rows: <c>feature_matching_pairs</c>,
/// <c>paired_svcca</c>/<c>paired_rsa</c> with <c>_shuffled_mean|std|p</c> and <c>_subsets_mean|std|p</c>; the final
/// pairs as <c>b_to_a</c> matches (rank 1, <c>mutual</c> when B is also its A feature's best match).
/// </summary>
public sealed class FeatureMatchingMeasure : Measure<FeatureMatchingParameters, MatchingStatistics>
{
    public override string Kind => "feature_matching";
    public override SiteData Data => SiteData.Sparse;
    public override Arity Arity => Arity.Pair;
    public override FeatureMatchingParameters DefaultParameters { get; } = new();

    public override IReadOnlyList<ParameterKey> Keys { get; } =
    [
        ParameterKeys<FeatureMatchingParameters>.Number("min_correlation", -1, 1, p => p.MinCorrelation, (p, v) => p with { MinCorrelation = v }),
        ParameterKeys<FeatureMatchingParameters>.Boolean("one_to_one", p => p.OneToOne, (p, v) => p with { OneToOne = v }),
        ParameterKeys<FeatureMatchingParameters>.Boolean("hungarian", p => p.Hungarian, (p, v) => p with { Hungarian = v }),
        ParameterKeys<FeatureMatchingParameters>.TextList("non_concept_tokens", "a list of token texts", p => p.NonConceptTokens, (p, v) => p with { NonConceptTokens = v }),
        ParameterKeys<FeatureMatchingParameters>.Fraction("non_concept_share", p => p.NonConceptShare, (p, v) => p with { NonConceptShare = v }),
        ParameterKeys<FeatureMatchingParameters>.Boolean("shared_top_token", p => p.SharedTopToken, (p, v) => p with { SharedTopToken = v }),
        ParameterKeys<FeatureMatchingParameters>.Integer("top_tokens", 1, "an integer of at least 1", p => p.TopTokens, (p, v) => p with { TopTokens = v }),
        ParameterKeys<FeatureMatchingParameters>.Integer("permutations", 1, "an integer of at least 1", p => p.Permutations, (p, v) => p with { Permutations = v }),
        ParameterKeys<FeatureMatchingParameters>.Integer("seed", 0, "an integer of at least 0", p => p.Seed, (p, v) => p with { Seed = v }),
        ParameterKeys<FeatureMatchingParameters>.Fraction("keep_variance", p => p.KeepVariance, (p, v) => p with { KeepVariance = v }),
        ParameterKeys<FeatureMatchingParameters>.Choice("inner", p => p.Inner, (p, v) => p with { Inner = v }),
        ParameterKeys<FeatureMatchingParameters>.Choice("outer", p => p.Outer, (p, v) => p with { Outer = v }),
    ];

    public override TokenTextsRequest? TokenTexts(FeatureMatchingParameters p) =>
        p.NonConceptTokens.Count == 0 ? null : new("non_concept_tokens", p.NonConceptTokens, "the non-concept filter", "filter off", WithSpecialTokens: true);

    public override bool NeedsDecoders(FeatureMatchingParameters p) => true;

    /// <summary>The correlation is exact on signed codes too; top activations are the largest values (most positive).</summary>
    public override bool TakesSignedCodes => true;

    /// <summary>At prompt level the token filters are off unless the job wrote them (then they are refused).</summary>
    public override FeatureMatchingParameters AtPromptLevel(FeatureMatchingParameters p, Func<string, bool> written) => p with
    {
        NonConceptTokens = written("non_concept_tokens") ? p.NonConceptTokens : [],
        SharedTopToken = written("shared_top_token") && p.SharedTopToken,
    };

    public override ParameterProblem? ReadsTokens(FeatureMatchingParameters p) =>
        p.NonConceptTokens.Count > 0
            ? new("non_concept_tokens", "filters features by the tokens of their top activations, but a prompt-level row is a prompt, not a token; expected non_concept_tokens: [] (filter off) at level: prompt")
        : p.SharedTopToken
            ? new("shared_top_token", "compares the tokens of the features' top activations, but a prompt-level row is a prompt, not a token; expected shared_top_token: false at level: prompt")
        : null;

    public override long PartialBytes(FeatureMatchingParameters p, MeasureShape shape) =>
        CodeCorrelationMeasure.Estimate(shape) + (p.NeedsTopTokens ? 20L * p.TopTokens * (shape.WidthA + shape.RequireWidthB) : 0);

    public override MatchingStatistics Fold(FeatureMatchingParameters p, MeasureShape shape, int piece, Func<IEnumerable<MeasureBlock>> blocks)
    {
        TopActivations? topA = p.NeedsTopTokens ? new(shape.WidthA, p.TopTokens) : null, topB = p.NeedsTopTokens ? new(shape.RequireWidthB, p.TopTokens) : null;
        // One pass over the blocks feeds both the cross sums and the top-activation heaps.
        var stats = SparseCorrelationMeasure.Statistics(blocks().Select(b =>
        {
            SparseRows a = b.A.SparseCodes, c = b.RequireB.SparseCodes;
            if (topA is not null)
            {
                var items = b.Tokens.Items();
                topA.AddRows(a.Offsets, a.Indices, a.Values, b.Tokens.Token, items);
                topB!.AddRows(c.Offsets, c.Indices, c.Values, b.Tokens.Token, items);
            }
            return (a, c);
        }));
        return new MatchingStatistics(stats, topA, topB);
    }

    public override MatchingStatistics Merge(FeatureMatchingParameters p, MatchingStatistics a, MatchingStatistics b) =>
        new(a.Stats.MergeConsuming(b.Stats), a.TopA?.Merge(b.TopA!), a.TopB?.Merge(b.TopB!));

    public override MeasureResult Finish(FeatureMatchingParameters p, MeasureShape shape, IEnumerable<MatchingStatistics> pieces, SideInputs side)
    {
        var partial = pieces.Single();
        var stats = partial.Stats;
        var matches = SparseCorrelation.BestMatches(stats);
        var options = new MatchingOptions
        {
            MinCorrelation = p.MinCorrelation, OneToOne = p.OneToOne, Hungarian = p.Hungarian,
            NonConceptTokens = (side.TokenIds ?? new HashSet<int>()).Select(TokenName).ToHashSet(), NonConceptShare = p.NonConceptShare,
            RequireSharedTopToken = p.SharedTopToken,
        };
        var needsTop = options.NonConceptTokens.Count > 0 || options.RequireSharedTopToken;
        var pairs = FeatureMatching.Pair(matches, options, needsTop ? partial.TopA!.Tokens(TokenName) : null,
            needsTop ? partial.TopB!.Tokens(TokenName) : null, stats.Correlation);

        var parameters = new Dictionary<string, object>
        {
            ["min_correlation"] = p.MinCorrelation, ["one_to_one"] = p.OneToOne, ["hungarian"] = p.Hungarian,
            ["non_concept_tokens"] = p.NonConceptTokens, ["non_concept_share"] = p.NonConceptShare, ["shared_top_token"] = p.SharedTopToken,
            ["top_tokens"] = p.TopTokens, ["permutations"] = p.Permutations, ["seed"] = p.Seed, ["keep_variance"] = p.KeepVariance,
            ["inner"] = p.Inner.ToString().ToLowerInvariant(), ["outer"] = p.Outer.ToString().ToLowerInvariant(),
            ["candidates"] = matches.BToA.Count(m => m.Index >= 0), ["features_a"] = shape.WidthA, ["features_b"] = shape.RequireWidthB,
            ["path"] = "sparse",
        };
        var values = new List<MeasureValue> { new("feature_matching_pairs", pairs.Count, stats.Count, parameters) };
        // SVCCA and RSA need a few items; with fewer pairs only the count is reported.
        if (pairs.Count >= 3)
        {
            var (decoderA, decoderB) = (side.Decoders ?? throw new ArgumentException("feature_matching needs the SAEs' decoder rows"))();
            foreach (var measure in new[] { PairedMeasure.Svcca, PairedMeasure.Rsa })
            {
                var (shuffled, subsets) = PairedSimilarity.Compare(decoderA, decoderB, pairs,
                    (x, y) => PairedSimilarity.Measure(x, y, measure, p.KeepVariance, p.Inner, p.Outer), p.Permutations, p.Seed);
                string name = measure == PairedMeasure.Svcca ? "svcca" : "rsa";
                values.Add(new($"paired_{name}", shuffled.Observed, pairs.Count, parameters));
                foreach (var (baseline, result) in new[] { ("shuffled", shuffled), ("subsets", subsets) })
                {
                    values.Add(new($"paired_{name}_{baseline}_mean", result.Mean, pairs.Count, parameters));
                    values.Add(new($"paired_{name}_{baseline}_std", result.Std, pairs.Count, parameters));
                    values.Add(new($"paired_{name}_{baseline}_p", result.PValue, pairs.Count, parameters));
                }
            }
        }
        var rows = pairs.Select(pair => new MatchRow(MatchRow.BToA, pair.B, 1, pair.A, pair.Correlation, matches.AToB[pair.A].Index == pair.B, false)).ToList();
        return new MeasureResult(values, rows);
    }

    // Tokens are compared by id.
    private static string TokenName(int token) => token.ToString(CultureInfo.InvariantCulture);

    public override void Write(MatchingStatistics partial, PartialWriter w)
    {
        SparseStatisticsCodec.Write(partial.Stats, w);
        w.Write("top", partial.TopA is null ? 0L : 1L);
        if (partial.TopA is null) return;
        WriteTop(partial.TopA, "a", w);
        WriteTop(partial.TopB!, "b", w);
    }

    public override MatchingStatistics Read(FeatureMatchingParameters p, MeasureShape shape, int piece, PartialReader r)
    {
        var stats = SparseStatisticsCodec.Read(shape.WidthA, shape.RequireWidthB, r);
        if (r.ReadInt64("top") == 0) return new MatchingStatistics(stats, null, null);
        return new MatchingStatistics(stats, ReadTop(shape.WidthA, p.TopTokens, "a", r), ReadTop(shape.RequireWidthB, p.TopTokens, "b", r));
    }

    private static void WriteTop(TopActivations top, string side, PartialWriter w)
    {
        var kept = Enumerable.Range(0, top.Width).Select(top.Of).ToList();
        w.Write($"top_{side}_count", kept.Select(k => k.Count).ToArray());
        w.Write($"top_{side}_value", kept.SelectMany(k => k.Select(a => a.Value)).ToArray());
        w.Write($"top_{side}_token", kept.SelectMany(k => k.Select(a => a.Token)).ToArray());
        w.Write($"top_{side}_item", kept.SelectMany(k => k.Select(a => a.Item)).ToArray());
    }

    private static TopActivations ReadTop(int width, int k, string side, PartialReader r)
    {
        var counts = r.ReadInts($"top_{side}_count");
        float[] values = r.ReadFloats($"top_{side}_value");
        int[] tokens = r.ReadInts($"top_{side}_token");
        long[] items = r.ReadLongs($"top_{side}_item");
        if (counts.Length != width) throw new InvalidDataException($"top activations of {counts.Length} features, expected {width}");
        var top = new TopActivations(width, k);
        int at = 0;
        for (int f = 0; f < width; f++)
            for (int j = 0; j < counts[f]; j++, at++) top.Offer(f, new Activation(values[at], tokens[at], items[at]));
        return top;
    }
}
