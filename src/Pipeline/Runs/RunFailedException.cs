namespace Sweep.Pipeline.Runs;

/// <summary>A run that started and then failed; it is marked failed in the ledger with this message.</summary>
public sealed class RunFailedException(long runId, string message, Exception? inner = null) : Exception(message, inner)
{
    public long RunId { get; } = runId;
}
