using Sweep.Jobs.Spec;
using Sweep.Models;
using Sweep.Models.Hooks;
using Sweep.Models.Saes;
using Sweep.Pipeline.Integrity;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// The two classes of unit failure (docs/operations.md, "Failures"), decided here for every executor:
/// <list type="bullet">
/// <item><b>permanent</b>: the input is malformed or damaged, and running the unit again reads the same bytes: weights or
/// an SAE file that fail their format checks (<see cref="ModelLoadException"/>, <see cref="SaeLoadException"/>), a shard
/// that fails its format checks or digests (<see cref="ShardFormatException"/>), a partial or shard that is not what its
/// unit expects (<see cref="InvalidDataException"/>), a trained SAE whose files changed
/// (<see cref="TrainedSaeDamagedException"/>), non-finite activations, and whatever an executor itself declares
/// <see cref="PermanentUnitFailure"/>. The run fails at once with the message, which names the file.</item>
/// <item><b>transient</b>: everything else (an I/O error, a file another node has not made visible yet, a device out of
/// memory, a lost lease): retried up to <c>execution.max_attempts</c> leases.</item>
/// </list>
/// Stored outputs that were damaged after their unit finished are made again by <c>sweep run --resume</c>, which
/// verifies them; the message says so.
/// </summary>
public static class UnitFailures
{
    public static bool IsPermanent(Exception e) => e switch
    {
        PermanentUnitFailure or ModelLoadException or SaeLoadException or ShardFormatException or TrainedSaeDamagedException
            or NonFiniteActivationsException or JobValidationException => true,
        // FileNotFoundException and the rest of IOException are transient; InvalidDataException is not an IOException.
        InvalidDataException => true,
        _ => false,
    };

    /// <summary><paramref name="e"/> as the failure a worker reports: permanent ones as <see cref="PermanentUnitFailure"/> with what to do.</summary>
    public static Exception Classify(Exception e, long runId)
    {
        if (e is PermanentUnitFailure || !IsPermanent(e)) return e;
        // Shards, partials and trained SAEs are this run's own outputs: a resume verifies them and makes a bad one again.
        var remedy = e is ShardFormatException or TrainedSaeDamagedException or InvalidDataException ? $"; sweep run --resume {runId} makes it again" : "";
        return new PermanentUnitFailure(e.Message + remedy, e);
    }
}
