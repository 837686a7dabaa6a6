using System.Diagnostics;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Features;
using Sweep.Analysis.Measures;

namespace Sweep.Bench;

/// <summary>
/// The <c>features</c> measure on a 16k-feature SAE site against the <c>correlation</c> measure of the same site (with
/// itself, the sparse exact path), each run as a job's units run it: one unit over the whole site (every piece folded
/// in turn, then finished: <see cref="MeasureRuns.Compute"/>). (Not <see cref="MeasureRuns.ComputeSplit"/>: it holds
/// every range's partial of a piece at once, which no map or merge unit does.)
/// Printed per run: the peak of the live managed heap (a full collection every 100 ms measures what is reachable,
/// above a collected baseline; uncollected garbage is printed beside it) and the time. Goal: the features unit peaks
/// no higher than the correlation unit (ratio ≤ 1).
/// </summary>
public sealed class FeaturesBenchmark : IBenchmark
{
    public string Name => "features";
    public string Description => "features measure on a 16k-feature SAE site vs a correlation of the site, as units: peak memory and time";

    private const int Width = 16384, K = 32, SequenceLength = 128, SequencesPerShard = 64, Shards = 16;

    public void Run(BenchmarkOutput output)
    {
        using var yardstick = new Yardstick();
        var blocks = Enumerable.Range(0, Shards).Select(Shard).ToList();
        long tokens = blocks.Sum(b => (long)b.Rows), codes = blocks.Sum(b => (long)b.A.SparseCodes.Indices.Length);
        output.Line("site", $"{Width} features, TopK {K}, {tokens} tokens in {Shards} shards, {codes} codes");

        var correlation = new CodeCorrelationMeasure();
        var pairShape = new MeasureShape(Width, Width, SiteData.Sparse);
        var pairs = blocks.Select(b => b with { B = b.A }).ToList();
        var (correlationPeak, correlationRaw, correlationSeconds) = Measure(yardstick,
            () => correlation.Compute(correlation.DefaultParameters, pairShape, () => pairs).Matches.Count, out long matches);
        output.Line("correlation, one unit (site with itself)", $"live peak {Mb(correlationPeak)} (with garbage {Mb(correlationRaw)}), {correlationSeconds}, {matches} match rows");

        var features = new FeaturesMeasure(SiteData.Sparse);
        var parameters = features.DefaultParameters;
        var shape = new MeasureShape(Width, null, SiteData.Sparse);
        output.Line("features settings", $"top_k {parameters.TopK}, window {parameters.WindowBefore}+1+{parameters.WindowAfter}, {parameters.SamplesPerStratum} samples per stratum, "
            + $"{parameters.Partners} partners in {parameters.CoActivationTiles} co-activation tiles, planned partial {Mb(features.PartialBytes(parameters, shape))}");
        var (unitPeak, unitRaw, unitSeconds) = Measure(yardstick, () => Rows(features.Compute(parameters, shape, () => blocks)), out long unitRows);
        output.Line("features, one unit", $"live peak {Mb(unitPeak)} (with garbage {Mb(unitRaw)}), {unitSeconds}, {unitRows} example and partner rows");

        output.Line("features unit peak / correlation unit peak (goal <= 1)", $"{(double)unitPeak / correlationPeak:F2}");
    }

    private static long Rows(MeasureResult result) => result.Features!.Site.Examples.Count + result.Features.Partners.Count;

    /// <summary>Seeded TopK-like codes: K distinct features per token, frequencies falling off as a power law, values in (0, 4).</summary>
    private static MeasureBlock Shard(int shard)
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
        return new MeasureBlock(new TokenRows(seq, pos, token), SiteRows.OfSparse(new SparseRows(Width, offsets, indices, values)));
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
