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
}
