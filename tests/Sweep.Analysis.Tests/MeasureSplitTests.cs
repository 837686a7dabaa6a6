using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Tests;

/// <summary>
/// Every registered measure gives the same result whether it folds all blocks at once or folds ranges of blocks
/// separately, writes each partial through its codec, reads it back and merges the partials in a tree: the contract
/// a distributed run relies on (equal up to float64 rounding of the additions).
/// </summary>
public sealed class MeasureSplitTests
{
    private const int Rows = 240, Blocks = 6;

    private static float[] Gaussian(int count, Random rng) =>
        Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();

    /// <summary>Dense rows of two sites with a shared signal, cut into <see cref="Blocks"/> blocks of consecutive tokens.</summary>
    private static List<MeasureBlock> DenseBlocks(int wa, int wb, int seed)
    {
        var rng = new Random(seed);
        var x = Gaussian(Rows * wa, rng);
        var y = Gaussian(Rows * wb, rng);
        for (int r = 0; r < Rows; r++)
            for (int j = 0; j < Math.Min(wa, wb); j++) y[r * wb + j] += 0.8f * x[r * wa + j] + 0.5f;
        return Cut(r => (x.AsSpan(r.First * wa, r.Count * wa).ToArray(), y.AsSpan(r.First * wb, r.Count * wb).ToArray()),
            (values, _) => SiteRows.OfDense(wa, values.Item1), (values, _) => SiteRows.OfDense(wb, values.Item2));
    }

    private static List<MeasureBlock> SparseBlocks(int wa, int wb, int seed)
    {
        var codes = SaeCodes.Generate(Rows, wa, wb, concepts: 24, conceptsPerToken: 3, noisePerToken: 2, seed: seed);
        return Cut(r => (codes.A.Slice(r.First, r.Count), codes.B.Slice(r.First, r.Count)),
            (values, _) => SiteRows.OfSparse(values.Item1), (values, _) => SiteRows.OfSparse(values.Item2));
    }

    private static List<MeasureBlock> Cut<T>(Func<(int First, int Count), T> slice, Func<T, int, SiteRows> a, Func<T, int, SiteRows> b)
    {
        var blocks = new List<MeasureBlock>();
        for (int i = 0; i < Blocks; i++)
        {
            int first = i * Rows / Blocks, count = (i + 1) * Rows / Blocks - first;
            var values = slice((first, count));
            // Tokens: sequences of 8 rows (a block holds whole ones), so ids are corpus-wide (sequence, position); token ids
            // cycle through 0..29. Each sequence is labelled a, b or c (what the concept measures group by).
            var tokens = new TokenRows(Enumerable.Range(first, count).Select(t => t / 8).ToArray(), Enumerable.Range(first, count).Select(t => t % 8).ToArray(),
                Enumerable.Range(first, count).Select(t => t % 30).ToArray());
            var labels = new RowLabels(["a", "b", "c"], [.. tokens.Seq.Select(s => s % 3)]);
            blocks.Add(new MeasureBlock(tokens, a(values, i), b(values, i), labels));
        }
        return blocks;
    }

    private static MeasureParameters ParametersFor(Measure measure) => measure.Defaults switch
    {
        RsaParameters rsa => rsa with { MaxItems = 60, Seed = 4 },
        KnnParameters knn => knn with { K = 5, MaxItems = 60, Seed = 2 },
        CorrelationParameters corr => corr with { TopK = 3 },
        CodeCorrelationParameters corr => corr with { TopK = 3 },
        FeatureMatchingParameters fm => fm with { MinCorrelation = 0.05, Permutations = 8, SharedTopToken = true, TopTokens = 4 },
        FeaturesParameters f => f with { TopK = 3, WindowBefore = 2, WindowAfter = 1, SamplesPerStratum = 2, Seed = 3, Partners = 3, CoActivationTiles = 2, LogitTokens = 2 },
        Sweep.Analysis.Concepts.ConceptParameters concept => concept with { Reduce = Sweep.Analysis.Concepts.Reduction.Mean, TopK = 3 },
        var p => p,
    };

    public static TheoryData<string, string> Measures()
    {
        var data = new TheoryData<string, string>();
        foreach (var m in MeasureRegistry.All) data.Add(m.Kind, m.Data.ToString());
        return data;
    }

    [Theory]
    [MemberData(nameof(Measures))]
    public void Folding_ranges_through_partials_and_merging_them_gives_the_result_of_one_fold(string kind, string data)
    {
        var measure = MeasureRegistry.Find(kind, Enum.Parse<SiteData>(data))!;
        var parameters = ParametersFor(measure);
        var sparse = measure.Data == SiteData.Sparse;
        int wa = sparse ? 48 : 12, wb = sparse ? 40 : 9;
        var blocks = sparse ? SparseBlocks(wa, wb, seed: 5) : DenseBlocks(wa, wb, seed: 5);
        var shape = new MeasureShape(wa, wb, measure.Data);
        var rng = new Random(9);
        var side = new SideInputs(() => (new DenseMatrix(wa, 16, Enumerable.Range(0, wa * 16).Select(_ => rng.NextDouble() - 0.5).ToArray()),
            new DenseMatrix(wb, 16, Enumerable.Range(0, wb * 16).Select(_ => rng.NextDouble() - 0.5).ToArray())), new HashSet<int> { 0, 1, 2 })
        {
            Logits = () => new LogitWeights(Enumerable.Range(0, wa * 16).Select(i => (float)Math.Sin(i)).ToArray(), wa,
                Enumerable.Range(0, 30 * 16).Select(i => (float)Math.Cos(i)).ToArray(), 30, 16, null),
        };

        var whole = measure.Compute(parameters, shape, () => blocks, side with { });
        rng = new Random(9);
        var ranges = new[] { blocks[..1], blocks[1..3], blocks[3..4], blocks[4..] }.Select(r => (Func<IEnumerable<MeasureBlock>>)(() => r)).ToList();
        var split = measure.ComputeSplit(parameters, shape, ranges, side);

        Assert.Equal(whole.Values.Select(v => (v.Measure, v.Count)), split.Values.Select(v => (v.Measure, v.Count)));
        foreach (var (w, s) in whole.Values.Zip(split.Values)) Assert.Equal(w.Result.Number, s.Result.Number, 1e-9 * Math.Max(1, Math.Abs(w.Result.Number)));
        Assert.Equal(whole.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match, m.Dead)), split.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match, m.Dead)));
        foreach (var (w, s) in whole.Matches.Zip(split.Matches)) Assert.Equal(w.Correlation, s.Correlation, 1e-9);
        Assert.NotEmpty(whole.Values);
        Assert.Equal(whole.Concepts?.Counts, split.Concepts?.Counts);
        if (measure.Kind is "correlation" or "feature_matching") Assert.NotEmpty(whole.Matches);
        Assert.Equal(whole.Features is null, split.Features is null);
        if (whole.Features is { } w1 && split.Features is { } s1) AssertSameFeatures(w1, s1, sparse);
    }

    /// <summary>The features analysis split and whole: the same counts, maxima, examples, partners and logit effects; sums to float64 rounding.</summary>
    private static void AssertSameFeatures(FeatureOutcome whole, FeatureOutcome split, bool sparse)
    {
        Assert.Equal(whole.Site.Tokens, split.Site.Tokens);
        Assert.Equal(whole.Site.Stats.Select(s => (s.Fired, s.Max)), split.Site.Stats.Select(s => (s.Fired, s.Max)));
        foreach (var (w, s) in whole.Site.Stats.Zip(split.Site.Stats)) Assert.Equal(w.Mean, s.Mean, 1e-12);
        Assert.Equal(whole.Site.Histograms.SelectMany(h => h), split.Site.Histograms.SelectMany(h => h));
        Assert.Equal(whole.Site.Examples.Select(e => (e.Feature, e.Kind, e.Stratum, e.Rank, e.Seq, e.Pos, e.Activation, e.WindowStart)),
            split.Site.Examples.Select(e => (e.Feature, e.Kind, e.Stratum, e.Rank, e.Seq, e.Pos, e.Activation, e.WindowStart)));
        Assert.Equal(whole.Site.Examples.SelectMany(e => e.WindowActivations), split.Site.Examples.SelectMany(e => e.WindowActivations));
        Assert.Contains(whole.Site.Examples, e => e.Kind == FeatureExample.Sample);
        Assert.Equal(whole.Partners.Select(p => (p.Feature, p.Measure, p.Rank, p.Partner, p.CoFirings)), split.Partners.Select(p => (p.Feature, p.Measure, p.Rank, p.Partner, p.CoFirings)));
        foreach (var (w, s) in whole.Partners.Zip(split.Partners)) Assert.Equal(w.Value, s.Value, 1e-9);
        Assert.Equal(whole.Logits, split.Logits);
        // An SAE site gets partners from every tile and logit effects; a dense site neither.
        Assert.Equal(sparse, whole.Partners.Select(p => p.Feature % 2).Distinct().Count() == 2);
        Assert.Equal(sparse, whole.Logits.Count > 0);
    }

    [Fact]
    public void A_dense_correlation_tiled_into_pieces_by_its_memory_budget_finds_the_best_pearson_partners()
    {
        // 1 MiB holds 2 columns of a correlation tile for 20,000 A features (24 bytes per feature per column): 3 pieces.
        const int wa = 20_000, wb = 5;
        var rng = new Random(3);
        var x = Gaussian(90 * wa, rng);
        var y = Gaussian(90 * wb, rng);
        for (int r = 0; r < 90; r++) for (int j = 0; j < wb; j++) y[r * wb + j] += x[r * wa + j * 7];
        var blocks = Enumerable.Range(0, 3).Select(i => new MeasureBlock(
            new TokenRows(Enumerable.Repeat(i, 30).ToArray(), Enumerable.Range(0, 30).ToArray(), new int[30]),
            SiteRows.OfDense(wa, x.AsSpan(i * 30 * wa, 30 * wa).ToArray()), SiteRows.OfDense(wb, y.AsSpan(i * 30 * wb, 30 * wb).ToArray()))).ToList();
        var measure = new DenseCorrelationMeasure();
        var parameters = new CorrelationParameters { MemoryMb = 1 };
        var shape = new MeasureShape(wa, wb, SiteData.Dense);
        Assert.Equal(3, measure.Pieces(parameters, shape));

        var split = measure.ComputeSplit(parameters, shape, blocks.Select(b => (Func<IEnumerable<MeasureBlock>>)(() => [b])).ToList());
        // Reference: two-pass Pearson r of every (A, B) feature pair, best A feature per B feature.
        double Pearson(int i, int j)
        {
            double mx = 0, my = 0;
            for (int r = 0; r < 90; r++) { mx += x[r * wa + i]; my += y[r * wb + j]; }
            mx /= 90; my /= 90;
            double sxy = 0, sxx = 0, syy = 0;
            for (int r = 0; r < 90; r++) { double dx = x[r * wa + i] - mx, dy = y[r * wb + j] - my; sxy += dx * dy; sxx += dx * dx; syy += dy * dy; }
            return sxy / Math.Sqrt(sxx * syy);
        }
        var reference = Enumerable.Range(0, wb).Select(j => Enumerable.Range(0, wa).Select(i => (Index: i, R: Pearson(i, j))).MaxBy(m => m.R)).ToList();

        var bToA = split.Matches.Where(m => m.Direction == MatchRow.BToA).OrderBy(m => m.Feature).ToList();
        Assert.Equal(reference.Select(m => m.Index), bToA.Select(m => m.Match ?? -1));
        Assert.Equal(Enumerable.Range(0, wb).Select(j => j * 7), bToA.Select(m => m.Match ?? -1));
        foreach (var (expected, actual) in reference.Zip(bToA)) Assert.Equal(expected.R, actual.Correlation, 1e-9);
        Assert.Equal(wa + wb, split.Matches.Count);
    }

    [Fact]
    public void A_sparse_correlation_tiled_over_A_features_by_its_memory_budget_gives_the_untiled_matches_and_keeps_each_tile_within_it()
    {
        // Each row of 2,000 B features can take up to 20,040 bytes: 1 MiB holds 52 rows, so 300 A features make 6 tiles.
        const int wa = 300, wb = 2000;
        var codes = SaeCodes.Generate(tokens: 600, widthA: wa, widthB: wb, concepts: 120, conceptsPerToken: 4, noisePerToken: 6, seed: 21);
        var blocks = Enumerable.Range(0, 6).Select(i => new MeasureBlock(
            new TokenRows(Enumerable.Repeat(i, 100).ToArray(), Enumerable.Range(0, 100).ToArray(), new int[100]),
            SiteRows.OfSparse(codes.A.Slice(i * 100, 100)), SiteRows.OfSparse(codes.B.Slice(i * 100, 100)))).ToList();
        var measure = new CodeCorrelationMeasure();
        var shape = new MeasureShape(wa, wb, SiteData.Sparse);
        var tight = new CodeCorrelationParameters { TopK = 3, MemoryMb = 1 };
        var roomy = tight with { MemoryMb = 4096 };
        Assert.Equal(6, measure.Pieces(tight, shape));
        Assert.Equal(1, measure.Pieces(roomy, shape));

        var whole = measure.Compute(roomy, shape, () => blocks);
        var tiled = measure.ComputeSplit(tight, shape, [() => blocks[..2], () => blocks[2..5], () => blocks[5..]]);
        Assert.Equal(whole.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match, m.Dead)), tiled.Matches.Select(m => (m.Direction, m.Feature, m.Rank, m.Match, m.Dead)));
        foreach (var (w, t) in whole.Matches.Zip(tiled.Matches)) Assert.Equal(w.Correlation, t.Correlation, 1e-12);
        foreach (var (w, t) in whole.Values.Zip(tiled.Values)) Assert.Equal(w.Result.Number, t.Result.Number, 1e-12);
        Assert.Equal(whole.Values[0].Parameters["co_active_pairs"], tiled.Values[0].Parameters["co_active_pairs"]);
        Assert.Equal(6, tiled.Values[0].Parameters["passes"]);

        int covered = 0;
        for (int piece = 0; piece < 6; piece++)
        {
            var stats = ((CodeStatistics)measure.Fold(tight, shape, piece, () => blocks)).Stats;
            Assert.Equal(covered, stats.LowA);
            covered = stats.HighA;
            Assert.True(stats.Bytes - 16L * (wa + wb) <= 1L << 20, $"tile {piece} holds {stats.Bytes} bytes");
        }
        Assert.Equal(wa, covered);
    }

    [Fact]
    public void A_sparse_correlation_tile_read_back_as_another_tile_is_refused()
    {
        var codes = SaeCodes.Generate(tokens: 100, widthA: 300, widthB: 2000, concepts: 40, conceptsPerToken: 3, noisePerToken: 2, seed: 2);
        var block = new MeasureBlock(new TokenRows(new int[100], Enumerable.Range(0, 100).ToArray(), new int[100]), SiteRows.OfSparse(codes.A), SiteRows.OfSparse(codes.B));
        var measure = new CodeCorrelationMeasure();
        var shape = new MeasureShape(300, 2000, SiteData.Sparse);
        var parameters = new CodeCorrelationParameters { MemoryMb = 1 };
        using var buffer = new MemoryStream();
        var writer = new PartialWriter(buffer);
        measure.Write(measure.Fold(parameters, shape, 1, () => [block]), writer);
        writer.Flush();
        buffer.Position = 0;
        var error = Assert.Throws<InvalidDataException>(() => measure.Read(parameters, shape, 2, new PartialReader(buffer)));
        Assert.Contains("tile 2 holds A features [50, 100), expected [100, 150)", error.Message);
    }

    [Fact]
    public void A_partial_read_back_with_sections_in_another_order_is_refused()
    {
        var measure = new CkaMeasure();
        var blocks = DenseBlocks(4, 3, seed: 1);
        var shape = new MeasureShape(4, 3, SiteData.Dense);
        using var buffer = new MemoryStream();
        measure.Write(measure.Fold(NoParameters.Instance, shape, 0, () => blocks), new PartialWriter(buffer));
        buffer.Position = 0;
        Assert.Throws<InvalidDataException>(() => new SvccaMeasure().Read(new SvccaParameters(), new MeasureShape(4, 3, SiteData.Dense), 0, new PartialReader(Skip(buffer))));

        static Stream Skip(MemoryStream s) { var r = new BinaryReader(s); r.ReadByte(); r.ReadString(); r.ReadInt64(); return s; }
    }
}
