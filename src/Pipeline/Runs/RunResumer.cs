using Sweep.Jobs.Spec;
using Sweep.Pipeline.Integrity;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

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
    /// Verifies the done units' stored outputs, reopens what does not verify, and returns the units that stay done. A
    /// unit's outputs are <i>needed</i> while a unit that reads them is not done (or reopened): then every byte readers
    /// will see is checked (every record batch of its shards against their digests, a trained SAE's files against their
    /// recorded SHA-256, a partial file against the checksum in the ledger); otherwise a capture or training unit's
    /// shards get the cheap check (each file there, with the catalogued checksum in its footer) and a partial none.
    /// Reopening a unit can make its own inputs needed, so this runs until nothing changes. Each output found damaged is
    /// reported once. Units the plan no longer has (planned by an older Sweep) are forgotten with their rows.
    /// </summary>
    public static async Task<IReadOnlySet<string>> ReopenAsync(SweepDatabase database, long runId, PreparedRun prepared, CancellationToken ct)
    {
        var planned = prepared.UnitsByKey;
        var stale = (await database.GetUnitsAsync(runId, ct)).Where(u => !planned.ContainsKey(u.UnitKey)).Select(u => u.UnitKey).ToList();
        await database.ForgetUnitsAsync(runId, stale, ct);
        var units = (await database.GetUnitsAsync(runId, ct)).ToDictionary(u => u.UnitKey);
        var shards = await database.GetShardsByUnitAsync(runId, ct);
        var done = units.Values.Where(u => u.Status == UnitStatus.Done).Select(u => u.UnitKey).ToHashSet();

        var readers = new Dictionary<string, List<string>>();
        foreach (var unit in prepared.Units)
            foreach (var input in unit.DependsOn)
                (readers.TryGetValue(input, out var list) ? list : readers[input] = []).Add(unit.Key);
        var producers = prepared.Units.Where(u => u is CaptureWork or TrainSaeWork or AnalysisMapWork or AnalysisMergeWork && done.Contains(u.Key)).ToList();
        var reopen = new HashSet<string>();
        var checkedFully = new HashSet<string>();
        var checkedCheaply = new HashSet<string>();
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (var unit in producers)
            {
                if (reopen.Contains(unit.Key) || checkedFully.Contains(unit.Key)) continue;
                bool needed = readers.GetValueOrDefault(unit.Key)?.Any(r => !done.Contains(r) || reopen.Contains(r)) ?? false;
                if (!needed && (checkedCheaply.Contains(unit.Key) || unit is AnalysisMapWork or AnalysisMergeWork)) continue;
                if (Problem(unit, units[unit.Key], shards.GetValueOrDefault(unit.Key) ?? [], prepared, fully: needed) is { } problem)
                {
                    DamageLog.Report(problem, $"run {runId}: running {unit.Description} again");
                    reopen.Add(unit.Key);
                    changed = true;
                }
                else (needed ? checkedFully : checkedCheaply).Add(unit.Key);
            }
        }
        await database.ReopenRunAsync(runId, reopen.ToList(), ct);
        done.ExceptWith(reopen);
        return done;
    }

    /// <summary>Why a done unit's stored outputs are not what the ledger records (one line naming the file), or null.</summary>
    private static string? Problem(WorkUnit unit, UnitState state, IReadOnlyList<ShardRow> shards, PreparedRun prepared, bool fully)
    {
        switch (unit)
        {
            case AnalysisMapWork or AnalysisMergeWork:
                if (state.OutputUri is not { } path || state.Checksum is not { } checksum) return $"{unit.Description}: the ledger records no partial file";
                return PartialFile.Problem(path, checksum, unit.Key);
            case TrainSaeWork train:
                var folder = prepared.Saes.TrainedFolder(train.Spec);
                var problem = fully ? TrainedSaes.Problem(folder)
                    : File.Exists(Path.Combine(folder, TrainedSaes.ChecksumFile)) ? null : $"{Path.Combine(folder, TrainedSaes.ChecksumFile)}: missing";
                return problem ?? ShardsProblem(unit, shards, fully);
            default:
                return ShardsProblem(unit, shards, fully);
        }
    }

    private static string? ShardsProblem(WorkUnit unit, IReadOnlyList<ShardRow> shards, bool fully) =>
        shards.Count == 0 ? $"{unit.Description}: the catalog records no shard of it" : shards.Select(row => StoredShards.Problem(row, fully)).FirstOrDefault(p => p is not null);

    private static JobSpec Load(Func<JobSpec> load)
    {
        try { return load(); }
        catch (JobValidationException e) { throw new InvalidDataException(string.Join("; ", e.Errors), e); }
    }
}
