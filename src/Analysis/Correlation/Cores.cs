namespace Sweep.Analysis.Correlation;

/// <summary>
/// Parallel loops of the correlation kernels run on at most one thread per core: Parallel.For also runs work on the
/// calling thread, and a third thread on two cores time-slices with the others, evicting their L1-resident rows.
/// </summary>
/// <remarks>
/// The kernels' hot loops are also marked <c>AggressiveOptimization</c>: a reducer calls each once per unit, so tiered
/// compilation would run that first (often only) call in unoptimized code.
/// </remarks>
internal static class Cores
{
    public static readonly ParallelOptions OnePerCore = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>Chunks a parallel loop over rows is cut into at most: a few per core, so uneven rows still balance.</summary>
    public static readonly int MaxChunks = 4 * Environment.ProcessorCount;

    /// <summary>
    /// Splits rows [0, rows) into contiguous chunks of about equal <paramref name="cost"/>, a few per core so uneven
    /// rows still balance; returns the chunk boundaries.
    /// </summary>
    public static int[] Chunks(int rows, Func<int, long> cost)
    {
        long total = 0;
        for (int i = 0; i < rows; i++) total += cost(i);
        int wanted = Math.Max(1, Math.Min(rows, MaxChunks));
        var bounds = new List<int>(wanted + 1) { 0 };
        long done = 0;
        for (int i = 0; i < rows; i++)
        {
            done += cost(i);
            if (bounds.Count < wanted && done * wanted >= total * bounds.Count && i + 1 < rows) bounds.Add(i + 1);
        }
        bounds.Add(rows);
        return bounds.ToArray();
    }
}
