using System.Diagnostics;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;

namespace Sweep.Bench;

/// <summary>
/// The <c>features</c> analysis of a 16k-feature SAE site against a <c>correlation</c> of the same site (with itself,
/// the sparse exact path), side by side: the peak of each one's live managed heap (a full collection every 100 ms
/// measures what is reachable, above a collected baseline; uncollected garbage is printed beside it) and time. Goal:
/// the features analysis — statistics, histograms, top contexts and interval samples folded per range of shards and
/// merged, then co-activation in three feature tiles — peaks no higher than the correlation (ratio ≤ 1).
/// </summary>
public sealed class FeaturesBenchmark : IBenchmark
{
    public string Name => "features";
    public string Description => "features analysis of a 16k-feature SAE site vs a correlation of the site: peak memory and time";

    private const int Width = 16384, K = 32, SequenceLength = 128, SequencesPerShard = 64, Shards = 16, ShardsPerRange = 4, Tiles = 3;

    public void Run(BenchmarkOutput output)
    {
        using var yardstick = new Yardstick();
        var blocks = Enumerable.Range(0, Shards).Select(Shard).ToList();
        long correlationBytes = 0;
        var tileBytes = new List<long>();
        long tokens = blocks.Sum(b => (long)b.Rows), codes = blocks.Sum(b => (long)b.Sparse!.Indices.Length);
        output.Line("site", $"{Width} features, TopK {K}, {tokens} tokens in {Shards} shards, {codes} codes");

        var (correlationPeak, correlationRaw, correlationSeconds) = Measure(yardstick, () =>
        {
            var stats = SparseCorrelationMeasure.Statistics(blocks.Select(b => (b.Sparse!, b.Sparse!)));
            SparseCorrelation.BestMatches(stats, topK: 1);
            correlationBytes = stats.Bytes;
            return stats.CoActivePairs;
        }, out long pairs);
        output.Line("correlation (site with itself)", $"live peak {Mb(correlationPeak)} (with garbage {Mb(correlationRaw)}), {correlationSeconds}, {pairs} co-active pairs");

        var parameters = new FeaturesParameters();
        var (tilePeak, tileRaw, tileSeconds) = Measure(yardstick, () =>
        {
            long partners = 0;
            // Each tile is its own unit: its statistics are dropped before the next tile starts (a method of its own, so
            // unoptimized code does not keep the last tile alive in a local).
            for (int tile = 0; tile < Tiles; tile++) partners += OneTile(blocks, tile, parameters.Partners, tileBytes);
            return partners;
        }, out long partnerRows);
        output.Line($"features: co-activation, {Tiles} tiles", $"live peak {Mb(tilePeak)} (with garbage {Mb(tileRaw)}), {tileSeconds}, {partnerRows} partner rows");

        var (summaryPeak, summaryRaw, summarySeconds) = Measure(yardstick, () =>
        {
            // Map units over ranges of shards, merged as a tree would (pairwise, left to right here).
            var summary = blocks.Chunk(ShardsPerRange).Select(range => FeatureSummary.Over(range, Width, parameters)).Aggregate((a, b) => a.Merge(b));
            return summary.Finish().Examples.Count;
        }, out long examples);
        output.Line("features: statistics, histograms, contexts, samples", $"live peak {Mb(summaryPeak)} (with garbage {Mb(summaryRaw)}), {summarySeconds}, {examples} examples kept");

        output.Line("cross sums held: correlation / each tile", $"{Mb(correlationBytes)} / {string.Join(", ", tileBytes.Select(Mb))}");
        long featuresPeak = Math.Max(summaryPeak, tilePeak);
        output.Line("features peak / correlation peak (goal <= 1)", $"{(double)featuresPeak / correlationPeak:F2}");
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static long OneTile(List<FeatureBlock> blocks, int tile, int partners, List<long> bytes)
    {
        var statistics = CoActivation.Of(blocks, tile, Tiles);   // one pass over the shards per tile
        bytes.Add(statistics.Bytes);
        return statistics.Finish(partners).Count;
    }

    /// <summary>Seeded TopK-like codes: K distinct features per token, frequencies falling off as a power law, values in (0, 4).</summary>
    private static FeatureBlock Shard(int shard)
    {
        var rng = new Random(1000 + shard);
        int rows = SequencesPerShard * SequenceLength;
        var offsets = new int[rows + 1];
        var indices = new int[rows * K];
        var values = new float[rows * K];
        int[] seq = new int[rows], pos = new int[rows], token = new int[rows];
        var chosen = new SortedSet<int>();
        for (int r = 0; r < rows; r++)
        {
            chosen.Clear();
            while (chosen.Count < K) chosen.Add((int)(Width * Math.Pow(rng.NextDouble(), 2.5)));
            int at = r * K;
            foreach (var f in chosen) { indices[at] = f; values[at++] = (float)(0.05 + 4 * rng.NextDouble() * rng.NextDouble()); }
            offsets[r + 1] = at;
            seq[r] = shard * SequencesPerShard + r / SequenceLength;
            pos[r] = r % SequenceLength;
            token[r] = rng.Next(50000);
        }
        return FeatureBlock.FromSparse(new SparseRows(Width, offsets, indices, values), seq, pos, token);
    }

    /// <summary>
    /// Runs <paramref name="work"/> while a thread samples the heap: every 2 ms its size with garbage, every 100 ms its
    /// live size after a full collection. Returns both peaks above the collected baseline, and the time in seconds and in
    /// the GEMMs run right before and after it (see <see cref="Yardstick"/>; the collections lengthen it: compare times
    /// only between runs of this benchmark).
    /// </summary>
    private static (long Live, long Raw, string Time) Measure(Yardstick yardstick, Func<long> work, out long result)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        long baseline = GC.GetTotalMemory(true), live = baseline, raw = baseline;
        bool done = false;
        var sampler = new Thread(() =>
        {
            var clock = Stopwatch.StartNew();
            while (!Volatile.Read(ref done))
            {
                raw = Math.Max(raw, GC.GetTotalMemory(false));
                if (clock.ElapsedMilliseconds >= 100)
                {
                    live = Math.Max(live, GC.GetTotalMemory(true));
                    clock.Restart();
                }
                Thread.Sleep(2);
            }
        }) { IsBackground = true, Priority = ThreadPriority.AboveNormal };
        sampler.Start();
        long value = 0;
        var sample = yardstick.Time(() => { value = work(); });
        result = value;
        Volatile.Write(ref done, true);
        sampler.Join();
        return (Math.Max(0, live - baseline), Math.Max(0, raw - baseline), $"{sample.Seconds:F1} s = {sample.GemmEquivalents:F1} GEMMs");
    }

    private static string Mb(long bytes) => $"{bytes / 1e6:F0} MB";
}
