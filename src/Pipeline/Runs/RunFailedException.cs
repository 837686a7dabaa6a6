namespace Sweep.Pipeline.Runs;

/// <summary>A run that started and then failed; it is marked failed in the ledger with this message.</summary>
public sealed class RunFailedException(long runId, string message, Exception? inner = null) : Exception(message, inner)
{
    public long RunId { get; } = runId;
}

/// <summary>A run stopped on purpose (SIGINT, SIGTERM): marked interrupted in the ledger, continued by <c>sweep run --resume</c>.</summary>
public sealed class RunInterruptedException(long runId, string how) : Exception($"run {runId} interrupted ({how}): sweep run --resume {runId} continues it")
{
    public long RunId { get; } = runId;
}
