namespace Sweep.Pipeline.Runs;

/// <summary>How a run's execution ended: units run, units whose outputs were reused from the cache, retries.</summary>
public sealed record RunOutcome(bool Succeeded, string? Error, int UnitsRun, int UnitsReused, int Retries)
{
    public static RunOutcome Failed(string error, int run, int reused, int retries) => new(false, error, run, reused, retries);
}
