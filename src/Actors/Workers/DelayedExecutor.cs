using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Workers;

/// <summary>
/// Fault drills: SWEEP_FAULT_UNIT_DELAY_MS=N makes every unit on this node take at least N ms longer,
/// so an operator (or a test) can kill a worker, the coordinator or the database while units are in
/// flight. Results are unchanged.
/// </summary>
public sealed class DelayedExecutor(IUnitExecutor inner, TimeSpan delay) : IUnitExecutor
{
    public const string Variable = "SWEEP_FAULT_UNIT_DELAY_MS";

    public static IUnitExecutor Wrap(IUnitExecutor executor) =>
        int.TryParse(Environment.GetEnvironmentVariable(Variable), out int ms) && ms > 0
            ? new DelayedExecutor(executor, TimeSpan.FromMilliseconds(ms))
            : executor;

    public async Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        return await inner.ExecuteAsync(unit, lease, cancellationToken);
    }

    public void Dispose() => inner.Dispose();
}
