using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Does the work of one unit (outside any actor: actors only schedule, retry and record) and writes all of its outputs
/// itself: shards and partial statistics into the store, its rows into a result file there. What it returns is only the
/// report a worker sends on. An executor instance belongs to one worker, so it may keep state such as a loaded model.
/// </summary>
public interface IUnitExecutor : IDisposable
{
    /// <param name="lease">The coordinator's lease of the unit this execution works under (it names the result file).</param>
    Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken);
}

/// <summary>A failure that retrying cannot fix (bad input): the run fails at once with this message.</summary>
public sealed class PermanentUnitFailure(string message, Exception? inner = null) : Exception(message, inner);
