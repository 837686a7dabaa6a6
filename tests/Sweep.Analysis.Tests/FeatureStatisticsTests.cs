using Sweep.Analysis.Features;
using Sweep.Analysis.Matching;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests;

/// <summary>
/// The <c>features</c> analysis' mergeable statistics against brute-force recounts of the codes: the same result
/// unsharded, sharded, merged in any order, and after a round trip through the partial sections.
/// </summary>
public sealed class FeatureStatisticsTests
{
    private sealed record Settings(int TopK, ContextWindow Window, int SamplesPerStratum, int Seed);

    private static readonly Settings Parameters = new(TopK: 4, Window: new ContextWindow(3, 2), SamplesPerStratum: 2, Seed: 7);

    private static FeatureSummary Over(IEnumerable<FeatureBlock> blocks, int width, Settings p)
    {
        var summary = new FeatureSummary(width, p.TopK, p.Window, p.SamplesPerStratum, p.Seed);
        foreach (var block in blocks) summary.Fold(block);
        return summary;
    }

    private static byte[] Bytes(FeatureSummary summary)
    {
        using var buffer = new MemoryStream();
        var writer = new PartialWriter(buffer);
        summary.Write(writer);
        writer.Flush();
        return buffer.ToArray();
    }

    private static FeatureSummary FromBytes(byte[] bytes, int width, Settings p) =>
        FeatureSummary.Read(new PartialReader(new MemoryStream(bytes)), width, p.TopK, p.Window, p.SamplesPerStratum, p.Seed);

    /// <summary>Every way to get one summary: one pass, per-shard partials merged left to right, in a shuffled balanced tree, via bytes.</summary>
    private static IEnumerable<(string How, FeatureSummary Summary)> Summaries(FeatureCorpus corpus)
    {
        yield return ("unsharded", Over([corpus.Block(0, corpus.Rows)], corpus.Width, Parameters));
        var parts = Enumerable.Range(0, corpus.Shards).Select(s => Over([corpus.Shard(s)], corpus.Width, Parameters)).ToList();
        yield return ("left fold", parts.Aggregate((a, b) => a.Merge(b)));
        var order = new Random(13);
        var shuffled = parts.OrderBy(_ => order.Next()).ToList();
        while (shuffled.Count > 1)
            shuffled = Enumerable.Range(0, (shuffled.Count + 1) / 2)
                .Select(i => 2 * i + 1 < shuffled.Count ? shuffled[2 * i + 1].Merge(shuffled[2 * i]) : shuffled[2 * i]).ToList();
        yield return ("shuffled tree", shuffled[0]);
        var viaBytes = parts.Select(p => FromBytes(Bytes(p), corpus.Width, Parameters))
            .Reverse().Aggregate((a, b) => a.Merge(b));
        yield return ("via bytes", viaBytes);
        // Retried units: a shard's partial merged once, whatever was computed twice (the pipeline commits one attempt).
        yield return ("folded shard by shard", Over(Enumerable.Range(0, corpus.Shards).Select(corpus.Shard), corpus.Width, Parameters));
    }

    [Fact]
    public void Statistics_and_histograms_equal_a_brute_force_recount_for_any_sharding_and_merge_order()
    {
        var corpus = FeatureCorpus.Generate(sequences: 40, width: 24, seed: 3);
        foreach (var (how, summary) in Summaries(corpus))
        {
            var result = summary.Finish();
            Assert.Equal(corpus.Rows, result.Tokens);
            for (int f = 0; f < corpus.Width; f++)
            {
                var values = Enumerable.Range(0, corpus.Rows).Select(r => (double)corpus.Value(r, f)).ToList();
                var firing = values.Where(v => v > 0).ToList();
                var stat = result.Stats[f];
                Assert.Equal(f, stat.Feature);
                Assert.Equal(firing.Count, stat.Fired);
                Assert.Equal((double)firing.Count / corpus.Rows, stat.Frequency, 15);
                Assert.Equal(values.Sum() / corpus.Rows, stat.Mean, 12);
                Assert.Equal(values.Max(), stat.Max);
                if (firing.Count == 0) Assert.Null(stat.MeanWhenActive);
                else Assert.Equal(firing.Average(), stat.MeanWhenActive!.Value, 12);

                var expected = firing.GroupBy(v => Bin(v)).OrderBy(g => g.Key).Select(g => (g.Key, (long)g.Count())).ToList();
                Assert.Equal(expected, result.Histograms[f].Select(b => (b.Bin, b.Count)).ToList());
                foreach (var b in result.Histograms[f])
                    Assert.True(b.Lower < b.Upper && firing.Count(v => v >= b.Lower && v < b.Upper) == b.Count, $"{how}: feature {f} bin {b.Bin}");
            }
        }
    }

    /// <summary>The documented bin edges, computed independently: bin b ≥ 1 is [10^(-6+(b-1)/10), 10^(-6+b/10)).</summary>
    private static int Bin(double v) =>
        v < 1e-6 ? 0 : v >= 1e4 ? 101 : Enumerable.Range(1, 100).Single(b => v >= Math.Pow(10, -6 + (b - 1) / 10.0) && v < Math.Pow(10, -6 + b / 10.0));

    [Fact]
    public void Histogram_bins_are_ten_per_decade_from_a_millionth_to_ten_thousand()
    {
        Assert.Equal(102, ActivationHistogram.Bins);
        Assert.Equal(1e-6, ActivationHistogram.Lower(1) * 1.0, 15);
        Assert.Equal(1.0, ActivationHistogram.Lower(61), 12);
        Assert.Equal(0, ActivationHistogram.BinOf(5e-7));
        Assert.Equal(61, ActivationHistogram.BinOf(1.0));
        Assert.Equal(60, ActivationHistogram.BinOf(0.99));
        Assert.Equal(101, ActivationHistogram.BinOf(1e4));
        Assert.Equal(double.PositiveInfinity, ActivationHistogram.Upper(101));
        // Strata are half-decades: five bins each.
        Assert.Equal(IntervalSamples.StratumOf(61), IntervalSamples.StratumOf(65));
        Assert.NotEqual(IntervalSamples.StratumOf(65), IntervalSamples.StratumOf(66));
        Assert.Equal(1.0, IntervalSamples.Lower(IntervalSamples.StratumOf(61)), 12);
        Assert.Equal(Math.Sqrt(10), IntervalSamples.Upper(IntervalSamples.StratumOf(61)), 12);
    }

    [Fact]
    public void Dense_units_fire_where_positive_and_their_mean_and_max_include_negative_values()
    {
        var corpus = FeatureCorpus.Generate(sequences: 12, width: 10, seed: 8);
        const float shift = -0.5f;
        var whole = Enumerable.Range(0, corpus.Shards).Select(s => Over([corpus.DenseShard(s, shift)], corpus.Width, Parameters))
            .Aggregate((a, b) => b.Merge(a)).Finish();
        for (int f = 0; f < corpus.Width; f++)
        {
            var values = Enumerable.Range(0, corpus.Rows).Select(r => (double)(corpus.Value(r, f) + shift)).ToList();
            var stat = whole.Stats[f];
            Assert.Equal(values.Count(v => v > 0), stat.Fired);
            Assert.Equal(values.Average(), stat.Mean, 12);
            Assert.Equal(values.Max(), stat.Max, 6);
            Assert.True(values.Max() < 0 ? stat.MeanWhenActive is null : stat.MeanWhenActive > 0);
            Assert.All(whole.Examples.Where(e => e.Feature == f), e => Assert.True(e.Activation > 0));
        }
        Assert.Contains(whole.Stats, s => s.Max < 0);   // some unit never fires: its max is negative, not 0
    }

    [Fact]
    public void Top_contexts_equal_a_full_sort_with_windows_inside_their_sequence_whatever_the_sharding_and_merge_order()
    {
        var corpus = FeatureCorpus.Generate(sequences: 40, width: 24, seed: 5);
        var window = Parameters.Window;
        foreach (var (how, summary) in Summaries(corpus))
        {
            var examples = summary.Finish().Examples.Where(e => e.Kind == FeatureExample.Top).ToList();
            for (int f = 0; f < corpus.Width; f++)
            {
                var expected = Enumerable.Range(0, corpus.Rows).Where(r => corpus.Value(r, f) > 0)
                    .OrderByDescending(r => corpus.Value(r, f)).ThenBy(r => Activation.ItemOf(corpus.Seq[r], corpus.Pos[r]))
                    .Take(Parameters.TopK).ToList();
                var actual = examples.Where(e => e.Feature == f).ToList();
                Assert.Equal(expected.Count, actual.Count);
                for (int i = 0; i < expected.Count; i++)
                {
                    int r = expected[i];
                    var e = actual[i];
                    Assert.Equal((i + 1, corpus.Seq[r], corpus.Pos[r], corpus.Token[r], corpus.Value(r, f)), (e.Rank, e.Seq, e.Pos, e.Token, e.Activation));
                    var (start, end) = corpus.SequenceOf(r);
                    int first = Math.Max(start, r - window.Before), last = Math.Min(end - 1, r + window.After);
                    Assert.Equal(corpus.Pos[first], e.WindowStart);
                    Assert.Equal(corpus.Token[first..(last + 1)], e.WindowTokens);
                    Assert.Equal(Enumerable.Range(first, last - first + 1).Select(w => corpus.Value(w, f)), e.WindowActivations);
                    Assert.Equal(e.Activation, e.WindowActivations[e.Offset]);
                }
            }
        }
    }

    [Fact]
    public void Interval_samples_are_the_bottom_k_by_seeded_hash_within_each_stratum_for_any_sharding()
    {
        var corpus = FeatureCorpus.Generate(sequences: 40, width: 24, seed: 9);
        foreach (var (how, summary) in Summaries(corpus))
        {
            var samples = summary.Finish().Examples.Where(e => e.Kind == FeatureExample.Sample).ToList();
            for (int f = 0; f < corpus.Width; f++)
            {
                var expected = Enumerable.Range(0, corpus.Rows).Where(r => corpus.Value(r, f) > 0)
                    .GroupBy(r => IntervalSamples.StratumOf(Bin(corpus.Value(r, f)))).OrderBy(g => g.Key)
                    .SelectMany(g => g.OrderBy(r => IntervalSamples.Priority(Parameters.Seed, f, Activation.ItemOf(corpus.Seq[r], corpus.Pos[r])))
                        .Take(Parameters.SamplesPerStratum).Select((r, i) => (Stratum: g.Key, Rank: i + 1, corpus.Seq[r], corpus.Pos[r])))
                    .ToList();
                Assert.Equal(expected, samples.Where(e => e.Feature == f).Select(e => (e.Stratum!.Value, e.Rank, e.Seq, e.Pos)).ToList());
            }
        }
        // A different seed draws different samples.
        var other = Over([corpus.Block(0, corpus.Rows)], corpus.Width, Parameters with { Seed = 8 }).Finish().Examples;
        var mine = Over([corpus.Block(0, corpus.Rows)], corpus.Width, Parameters).Finish().Examples;
        Assert.NotEqual(mine.Where(e => e.Kind == "sample").Select(e => (e.Seq, e.Pos)), other.Where(e => e.Kind == "sample").Select(e => (e.Seq, e.Pos)));
    }

    [Fact]
    public void Partials_give_the_same_bytes_for_the_same_statistics_and_refuse_other_settings()
    {
        var corpus = FeatureCorpus.Generate(sequences: 20, width: 16, seed: 4);
        var parts = Enumerable.Range(0, corpus.Shards).Select(s => Over([corpus.Shard(s)], corpus.Width, Parameters)).ToList();
        var forward = Bytes(parts.Aggregate((a, b) => a.Merge(b)));
        var backward = Bytes(Enumerable.Reverse(parts).Aggregate((a, b) => a.Merge(b)));
        Assert.Equal(forward, Bytes(FromBytes(forward, corpus.Width, Parameters)));
        // Integer counts, maxima and kept examples agree exactly; float64 sums may differ in the last bits between orders.
        var a = FromBytes(forward, corpus.Width, Parameters).Finish();
        var b = FromBytes(backward, corpus.Width, Parameters).Finish();
        Assert.Equal(a.Stats.Select(s => (s.Fired, s.Max)), b.Stats.Select(s => (s.Fired, s.Max)));
        Assert.Equal(a.Examples.Select(e => (e.Feature, e.Kind, e.Rank, e.Seq, e.Pos)), b.Examples.Select(e => (e.Feature, e.Kind, e.Rank, e.Seq, e.Pos)));

        // A partial made with other settings (or of another width) is refused, not misread.
        Assert.Throws<InvalidDataException>(() => FromBytes(forward, corpus.Width, Parameters with { TopK = 5 }));
        Assert.Throws<InvalidDataException>(() => FromBytes(forward, corpus.Width, Parameters with { Window = new ContextWindow(3, 1) }));
        Assert.Throws<InvalidDataException>(() => FromBytes(forward, corpus.Width, Parameters with { Seed = 1 }));
        Assert.Throws<InvalidDataException>(() => FromBytes(forward, corpus.Width + 1, Parameters));
        Assert.Throws<EndOfStreamException>(() => FromBytes(forward[..(forward.Length / 2)], corpus.Width, Parameters));
    }

    [Fact]
    public void A_planted_feature_that_fires_on_one_token_has_those_contexts_on_top_with_the_right_highlights()
    {
        // Feature 5 fires only on token 42, more strongly the later in its sequence; other features are noise on every token.
        const int width = 8, planted = 5, marker = 42;
        var rng = new Random(1);
        var sequences = Enumerable.Range(0, 30).Select(s => Enumerable.Range(0, 10 + s % 7).Select(_ => rng.Next(40)).ToArray()).ToList();
        var where = new List<(int Seq, int Pos)>();
        for (int s = 0; s < sequences.Count; s += 2)
        {
            int p = 3 + s % 5;
            sequences[s][p] = marker;
            where.Add((s, p));
        }
        var blocks = new List<FeatureBlock>();
        for (int first = 0; first < sequences.Count; first += 4)
        {
            var chunk = sequences.Skip(first).Take(4).Select((tokens, i) => (Seq: first + i, Tokens: tokens)).ToList();
            var offsets = new List<int> { 0 }; var indices = new List<int>(); var values = new List<float>();
            var seq = new List<int>(); var pos = new List<int>(); var token = new List<int>();
            foreach (var (s, tokens) in chunk)
                for (int p = 0; p < tokens.Length; p++)
                {
                    for (int f = 0; f < width; f++)
                    {
                        float v = f == planted ? (tokens[p] == marker ? 1f + s : 0f) : (float)rng.NextDouble() * 0.5f;
                        if (v > 0) { indices.Add(f); values.Add(v); }
                    }
                    offsets.Add(indices.Count);
                    seq.Add(s); pos.Add(p); token.Add(tokens[p]);
                }
            blocks.Add(FeatureBlock.FromSparse(new Correlation.SparseRows(width, offsets.ToArray(), indices.ToArray(), values.ToArray()), seq.ToArray(), pos.ToArray(), token.ToArray()));
        }
        var result = Over(blocks, width, new Settings(TopK: 5, Window: new ContextWindow(4, 2), SamplesPerStratum: 0, Seed: 0)).Finish();

        var top = result.Examples.Where(e => e.Feature == planted && e.Kind == FeatureExample.Top).ToList();
        var expected = where.OrderByDescending(w => w.Seq).Take(5).ToList();
        Assert.Equal(expected, top.Select(e => (e.Seq, e.Pos)));
        foreach (var e in top)
        {
            Assert.Equal(marker, e.Token);
            Assert.Equal(1f + e.Seq, e.Activation);
            // Exactly one highlighted token in the window: the marker, at the example's own offset.
            Assert.Equal(e.Offset, Array.FindIndex(e.WindowActivations, v => v > 0));
            Assert.Single(e.WindowActivations, v => v > 0);
            Assert.Equal(sequences[e.Seq][e.WindowStart..(e.WindowStart + e.WindowTokens.Length)], e.WindowTokens);
            Assert.Equal(Math.Max(0, e.Pos - 4), e.WindowStart);
        }
        var stat = result.Stats[planted];
        Assert.Equal(where.Count, stat.Fired);
        Assert.Equal(where.Average(w => 1.0 + w.Seq), stat.MeanWhenActive);
    }

    [Fact]
    public void A_block_whose_positions_are_not_consecutive_within_a_sequence_is_refused()
    {
        var codes = new Correlation.SparseRows(2, [0, 1, 2], [0, 1], [1f, 2f]);
        var error = Assert.Throws<ArgumentException>(() => FeatureBlock.FromSparse(codes, [0, 0], [0, 2], [5, 6]));
        Assert.Contains("consecutive positions", error.Message);
        Assert.Throws<ArgumentException>(() => FeatureBlock.FromDense([1f, float.NaN], 2, [0], [0], [1]));
    }
}
