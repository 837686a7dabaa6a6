using Sweep.Jobs.Spec;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// Continues an interrupted run from its ledger (<c>sweep run --resume RUN</c>). The job is the one the
/// run stored, re-validated, and refused if it (or the job file it came from) no longer has the run's
/// digest. Done units are kept when every shard they wrote still has its catalogued checksum; a unit
/// with a missing or changed shard, and every unit not done, runs again under the same run id.
/// </summary>
public static class RunResumer
{
    /// <summary>The stored job of <paramref name="runId"/>, checked against the run's digest; throws with one line when it cannot be resumed.</summary>
    public static async Task<JobSpec> LoadJobAsync(SweepDatabase database, long runId, string? jobFile, CancellationToken ct)
    {
        var run = await database.GetRunAsync(runId, ct) ?? throw new KeyNotFoundException($"run {runId} does not exist");
        if (run.Status == RunStatus.Succeeded) throw new InvalidOperationException($"run {runId} already succeeded; there is nothing to resume");
        var jobPath = jobFile is not null ? Path.GetFullPath(jobFile) : await database.GetRunJobPathAsync(runId, ct)
            ?? throw new InvalidOperationException($"run {runId} does not record its job file; pass it: sweep run --resume {runId} JOB");

        if (File.Exists(jobPath))
        {
            var current = Load(() => JobLoader.Load(jobPath));
            if (current.Digest != run.SpecDigest)
                throw new InvalidOperationException(
                    $"{jobPath}: the job changed since run {runId} started (digest {run.SpecDigest[..12]} -> {current.Digest[..12]}); start a new run instead");
        }
        var stored = Load(() => JobLoader.Parse(run.SpecYaml, jobPath, Path.GetDirectoryName(jobPath)!));
        if (stored.Digest != run.SpecDigest)
            throw new InvalidOperationException($"run {runId}: its stored job no longer validates to the same digest (paths resolved from {Path.GetDirectoryName(jobPath)}); pass the job file");
        if (Path.GetFullPath(stored.Output.Store) != run.StoreDir)
            throw new InvalidOperationException($"run {runId}: its store was {run.StoreDir}, the job now resolves it to {stored.Output.Store}");
        return stored;
    }

    /// <summary>Verifies the done units' shards, reopens what does not verify, and returns the units that stay done.</summary>
    public static async Task<IReadOnlySet<string>> ReopenAsync(SweepDatabase database, long runId, CancellationToken ct)
    {
        var units = await database.GetUnitsAsync(runId, ct);
        var shards = await database.GetShardsByUnitAsync(runId, ct);
        var done = new HashSet<string>();
        var reopen = new List<string>();
        foreach (var unit in units.Where(u => u.Status == UnitStatus.Done))
        {
            bool valid = unit.Stage != StageNames.Of(WorkStage.Capture)
                || (shards.TryGetValue(unit.UnitKey, out var rows) && rows.Count > 0 && rows.All(Verifies));
            (valid ? (ICollection<string>)done : reopen).Add(unit.UnitKey);
        }
        await database.ReopenRunAsync(runId, reopen, ct);
        return done;
    }

    private static bool Verifies(ShardRow row)
    {
        try { return File.Exists(row.Uri) && DenseShardFile.Checksum(row.Uri) == row.Checksum; }
        catch (IOException) { return false; }
    }

    private static JobSpec Load(Func<JobSpec> load)
    {
        try { return load(); }
        catch (JobValidationException e) { throw new InvalidDataException(string.Join("; ", e.Errors), e); }
    }
}
