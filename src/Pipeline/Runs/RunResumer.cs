using Sweep.Jobs.Spec;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// Continues an interrupted run from its ledger (<c>sweep run --resume RUN</c>). The job is the one the
/// run stored, re-validated, and refused if it (or the job file it came from) no longer has the run's
/// digest. Done units are kept when their outputs still verify (<see cref="ReopenAsync"/>); the others, and every unit
/// not done, run again under the same run id.
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

    /// <summary>
    /// Verifies the done units' outputs, reopens what does not verify, and returns the units that stay done. A capture
    /// unit stays done while every shard it wrote has its catalogued checksum. A map or merge unit's partial file is
    /// needed only while a unit that reads it is not done: then it stays done only if its file still has the checksum
    /// the ledger recorded (reopening it can make its own inputs needed again, so this runs until nothing changes).
    /// Units the plan no longer has (planned by an older Sweep) are forgotten with their rows.
    /// </summary>
    public static async Task<IReadOnlySet<string>> ReopenAsync(SweepDatabase database, long runId, PreparedRun prepared, CancellationToken ct)
    {
        var planned = prepared.UnitsByKey;
        var stale = (await database.GetUnitsAsync(runId, ct)).Where(u => !planned.ContainsKey(u.UnitKey)).Select(u => u.UnitKey).ToList();
        await database.ForgetUnitsAsync(runId, stale, ct);
        var units = (await database.GetUnitsAsync(runId, ct)).ToDictionary(u => u.UnitKey);
        var shards = await database.GetShardsByUnitAsync(runId, ct);
        var done = units.Values.Where(u => u.Status == UnitStatus.Done).Select(u => u.UnitKey).ToHashSet();
        var reopen = new HashSet<string>();
        foreach (var key in done.ToList())
            if (units[key].Stage == StageNames.Of(WorkStage.Capture) && !(shards.TryGetValue(key, out var rows) && rows.Count > 0 && rows.All(Verifies)))
                reopen.Add(key);

        var readers = new Dictionary<string, List<string>>();
        foreach (var unit in prepared.Units)
            foreach (var input in unit.DependsOn)
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(unit.Key);
        var producers = prepared.Units.Where(u => u is AnalysisMapWork or AnalysisMergeWork && done.Contains(u.Key)).ToList();
        var checkedOk = new HashSet<string>();
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var unit in producers)
            {
                if (reopen.Contains(unit.Key) || checkedOk.Contains(unit.Key)) continue;
                bool needed = readers.GetValueOrDefault(unit.Key)?.Any(r => !done.Contains(r) || reopen.Contains(r)) ?? false;
                if (!needed) continue;
                var state = units[unit.Key];
                if (state.OutputUri is { } path && state.Checksum is { } checksum && PartialFile.Verifies(path, checksum, unit.Key)) checkedOk.Add(unit.Key);
                else { reopen.Add(unit.Key); changed = true; }
            }
        }
        await database.ReopenRunAsync(runId, reopen.ToList(), ct);
        done.ExceptWith(reopen);
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
