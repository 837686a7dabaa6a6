namespace Sweep.Actors.Execution;

/// <summary>Stages of a run, in the order their units become ready; each is served by one role.</summary>
public enum WorkStage { Capture, Analysis, TrainSae, SaeStats }

/// <summary>
/// One schedulable piece of a run: a deterministic key (the ledger's primary key within a run), the
/// stage it belongs to, the keys it waits for, and the job-level payload its executor understands.
/// </summary>
public sealed record WorkUnit(string Key, WorkStage Stage, string Description, IReadOnlyList<string> DependsOn, object Payload);
