using System.Text.Json;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Matching;
using Sweep.Analysis.Similarity;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Storage.Database;

namespace Sweep.Actors.Execution;

/// <summary>
/// <c>feature_matching</c> between two SAE code sites (Lan et al., arXiv 2410.06981): the exact sparse correlation's
/// best matches, the paper's pairing and filters (top activating tokens gathered from the sparse shards in bounded
/// per-feature heaps), then SVCCA and RSA of the paired decoder rows against seeded shuffled-pairing and
/// random-subset baselines. Rows: metrics per measure and baseline; the final pairs as <c>b_to_a</c> feature matches.
/// </summary>
public sealed class FeatureMatchingRun(RunContext run, SaeRun saes, AnalysisUnit unit, AnalysisParameters p, SaeSite a, SaeSite b)
{
    public UnitResult Execute(SparsePairStatistics stats, CancellationToken cancellationToken)
    {
        var matches = SparseCorrelation.BestMatches(stats);
        var options = new MatchingOptions
        {
            MinCorrelation = p.MinCorrelation, OneToOne = p.OneToOne, Hungarian = p.Hungarian,
            NonConceptTokens = NonConceptTokenIds(), NonConceptShare = p.NonConceptShare, RequireSharedTopToken = p.SharedTopToken,
        };
        IReadOnlyList<IReadOnlyList<string>>? topA = null, topB = null;
        if (options.NonConceptTokens.Count > 0 || options.RequireSharedTopToken)
        {
            topA = TopTokens(a, cancellationToken).Tokens(TokenName);
            topB = TopTokens(b, cancellationToken).Tokens(TokenName);
        }
        var pairs = FeatureMatching.Pair(matches, options, topA, topB, stats.Correlation);
        cancellationToken.ThrowIfCancellationRequested();

        var parameters = new Dictionary<string, object>
        {
            ["min_correlation"] = p.MinCorrelation, ["one_to_one"] = p.OneToOne, ["hungarian"] = p.Hungarian,
            ["non_concept_tokens"] = p.NonConceptTokens, ["non_concept_share"] = p.NonConceptShare, ["shared_top_token"] = p.SharedTopToken,
            ["top_tokens"] = p.TopTokens, ["permutations"] = p.Permutations, ["seed"] = p.Seed, ["keep_variance"] = p.KeepVariance,
            ["inner"] = p.Inner.ToString().ToLowerInvariant(), ["outer"] = p.Outer.ToString().ToLowerInvariant(),
            ["candidates"] = matches.BToA.Count(m => m.Index >= 0), ["path"] = "sparse",
        };
        var metrics = new List<MetricRow> { Metric("feature_matching_pairs", pairs.Count, stats.Count, parameters) };
        // SVCCA and RSA need a few items; with fewer pairs only the count is reported.
        if (pairs.Count >= 3)
        {
            var decoderA = Decoder(saes, a);
            var decoderB = Decoder(saes, b);
            var settings = PairAnalysisExecutor.Settings(p);
            foreach (var measure in new[] { PairedMeasure.Svcca, PairedMeasure.Rsa })
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (shuffled, subsets) = PairedSimilarity.Compare(decoderA, decoderB, pairs,
                    (x, y) => PairedSimilarity.Measure(x, y, measure, settings.KeepVariance, settings.Inner, settings.Outer), p.Permutations, p.Seed);
                string name = measure == PairedMeasure.Svcca ? "svcca" : "rsa";
                metrics.Add(Metric($"paired_{name}", shuffled.Observed, pairs.Count, parameters));
                foreach (var (baseline, result) in new[] { ("shuffled", shuffled), ("subsets", subsets) })
                {
                    metrics.Add(Metric($"paired_{name}_{baseline}_mean", result.Mean, pairs.Count, parameters));
                    metrics.Add(Metric($"paired_{name}_{baseline}_std", result.Std, pairs.Count, parameters));
                    metrics.Add(Metric($"paired_{name}_{baseline}_p", result.PValue, pairs.Count, parameters));
                }
            }
        }
        var rows = pairs.Select(pair => new FeatureMatchRow(unit.Analysis, unit.A.Model, unit.A.Site, unit.B.Model, unit.B.Site,
            SweepDatabase.BToA, pair.B, 1, pair.A, pair.Correlation, matches.AToB[pair.A].Index == pair.B, false)).ToList();
        return new UnitResult(new UnitOutput(Metrics: metrics, FeatureMatches: rows), Reused: false);
    }

    private MetricRow Metric(string measure, double value, long count, Dictionary<string, object> parameters) =>
        new(unit.Analysis, measure, unit.A.Model, unit.A.Site, unit.B.Model, unit.B.Site, value, count, JsonSerializer.Serialize(parameters));

    /// <summary>Top activations of one SAE site over the corpus: one set per shard, merged as a tree.</summary>
    private TopActivations TopTokens(SaeSite site, CancellationToken cancellationToken)
    {
        var partials = new List<TopActivations>();
        for (int shard = 0; shard < run.Corpus.Shards.Count; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var codes = PairAnalysisExecutor.ReadSparse(saes, site, shard);
            var part = new TopActivations(site.DSae, p.TopTokens);
            var items = new long[codes.Rows];
            for (int r = 0; r < codes.Rows; r++) items[r] = ((long)codes.Seq[r] << 32) | (uint)codes.Pos[r];
            part.AddRows(codes.Offsets, codes.Indices, codes.Values, codes.Token, items);
            partials.Add(part);
        }
        while (partials.Count > 1)
            partials = Enumerable.Range(0, (partials.Count + 1) / 2)
                .Select(i => 2 * i + 1 < partials.Count ? partials[2 * i].Merge(partials[2 * i + 1]) : partials[2 * i]).ToList();
        return partials.Count == 1 ? partials[0] : new TopActivations(site.DSae, p.TopTokens);
    }

    // Tokens are compared by id; the non-concept list is turned into ids once, by the corpus tokenizer.
    private static string TokenName(int token) => token.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The ids of the configured non-concept token texts — each text that the corpus tokenizer encodes as exactly one
    /// token — plus the tokenizer's BOS, EOS and PAD ids. Empty when the list is empty (filter off).
    /// </summary>
    public HashSet<string> NonConceptTokenIds()
    {
        var ids = new HashSet<string>();
        if (p.NonConceptTokens.Count == 0) return ids;
        var model = run.Spec.TokenizerModel;
        if (!TokenizerLoader.HasTokenizer(model.Path))
            throw new PermanentUnitFailure($"analysis '{unit.Analysis}': the non-concept filter needs the tokenizer of model '{model.Name}', which has none (set non_concept_tokens: [] to turn the filter off)");
        var tokenizer = TokenizerLoader.Load(model.Path);
        foreach (var text in p.NonConceptTokens)
            if (tokenizer.Encode(text, addBos: false) is { Count: 1 } one) ids.Add(TokenName(one[0]));
        foreach (var special in new[] { tokenizer.BosId, tokenizer.EosId, tokenizer.PadId })
            if (special is { } id) ids.Add(TokenName(id));
        return ids;
    }

    /// <summary>The SAE's decoder, one row per feature (d_sae × d_in), from its folder (W_dec, or D of a temporal SAE).</summary>
    private static DenseMatrix Decoder(SaeRun saes, SaeSite site)
    {
        var folder = PairAnalysisExecutor.Folder(saes, site);
        ISparseEncoder encoder;
        try { encoder = SaeLoader.Load(folder, "cpu"); }
        catch (SaeLoadException e) { throw new PermanentUnitFailure($"SAE '{site.Name}': {e.Message}", e); }
        using (encoder)
            return encoder switch
            {
                SparseAutoencoder sae => DenseMatrix.FromFloats(sae.WDec, sae.Config.DSae, sae.Config.DIn),
                // Both parts of a temporal SAE's code (novel, pred) decode through the one decoder D.
                TemporalSae temporal => DenseMatrix.FromFloats(temporal.D, temporal.Config.DSae, temporal.Config.DIn),
                _ => throw new PermanentUnitFailure($"SAE '{site.Name}': no decoder rows to compare for a {folder.Config.ArchitectureName} SAE"),
            };
    }
}
