using Sweep.Storage.Database;

namespace Sweep.Pipeline.Runs;

/// <summary>What a finished run tells its caller: where everything is and the metrics it stored.</summary>
public sealed record RunReport(
    long RunId, RunOutcome Outcome, string StoreDirectory, int CaptureUnits, int AnalysisUnits,
    long Tokens, IReadOnlyList<StoredMetric> Metrics);
