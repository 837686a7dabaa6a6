using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Does the work of one unit (outside any actor: actors only schedule, retry and record). An
/// executor instance belongs to one worker, so it may keep state such as a loaded model.
/// </summary>
public interface IUnitExecutor : IDisposable
{
    Task<UnitResult> ExecuteAsync(WorkUnit unit, CancellationToken cancellationToken);
}

/// <summary>A failure that retrying cannot fix (bad input): the run fails at once with this message.</summary>
public sealed class PermanentUnitFailure(string message, Exception? inner = null) : Exception(message, inner);
