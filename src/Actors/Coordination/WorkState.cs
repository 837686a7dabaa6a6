using Sweep.Pipeline.Units;

namespace Sweep.Actors.Coordination;

/// <summary>
/// The schedule of one run, as a plain object (no actors, no clock, no I/O): which units wait on others, which are
/// ready per stage (in plan order), which are leased (to whom, under which lease number, until when), which are being
/// committed, which are done, and how often each was leased. <see cref="RunCoordinator"/> is a thin actor around it.
/// <para>
/// Lease numbers grow per unit across the run's whole life: they continue from the ledger's last lease of the unit, so
/// a lease is never handed out twice (the ledger keys commits by (unit, lease)). <see cref="Attempts"/> counts this
/// execution's leases only, so a resumed run gets <c>maxAttempts</c> fresh tries.
/// </para>
/// </summary>
public sealed class WorkState<TWorker> where TWorker : notnull
{
    public sealed record Lease(string Key, int Number, TWorker Worker, DateTime Deadline);

    /// <summary>What to do about a failed attempt.</summary>
    public abstract record FailureDecision
    {
        /// <summary>The failure belongs to a lease that is no longer current, or the unit is done or committing: nothing to do.</summary>
        public sealed record Ignore : FailureDecision;
        /// <summary>The unit went back to its queue; <paramref name="Attempt"/> leases of it failed so far in this execution.</summary>
        public sealed record Retry(int Attempt) : FailureDecision;
        /// <summary>The run fails: a permanent failure, or the unit's last attempt.</summary>
        public sealed record FailRun(string Reason) : FailureDecision;
    }

    private readonly Dictionary<string, WorkUnit> _units;
    private readonly Dictionary<string, List<string>> _dependents = new();
    private readonly Dictionary<string, int> _waitingOn = new();
    private readonly Dictionary<WorkStage, LinkedList<string>> _ready = new();
    private readonly Dictionary<string, LinkedListNode<string>> _queued = new();
    private readonly Dictionary<string, Lease> _leased = new();
    private readonly Dictionary<string, int> _lastLease;
    private readonly Dictionary<string, int> _attempts = new();
    private readonly HashSet<string> _committing = new();
    private readonly HashSet<string> _done = new();
    private readonly int _maxAttempts;

    public int Total => _units.Count;
    public int DoneCount => _done.Count;
    public bool IsComplete => _done.Count == _units.Count;
    public int UnitsRun { get; private set; }
    public int UnitsReused { get; private set; }
    public int Retries { get; private set; }

    /// <param name="done">Units the ledger already holds as done.</param>
    /// <param name="lastLease">The ledger's last lease number per unit (absent: none yet).</param>
    public WorkState(IReadOnlyList<WorkUnit> units, IReadOnlySet<string> done, IReadOnlyDictionary<string, int> lastLease, int maxAttempts)
    {
        _units = units.ToDictionary(u => u.Key);
        var unknown = units.SelectMany(u => u.DependsOn).Where(k => !_units.ContainsKey(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"units depend on keys not in the plan: {string.Join(", ", unknown.Take(3))}");
        _lastLease = new Dictionary<string, int>(lastLease);
        _maxAttempts = maxAttempts;
        foreach (WorkStage stage in Enum.GetValues<WorkStage>()) _ready[stage] = new();
        foreach (var unit in units.Where(u => done.Contains(u.Key))) _done.Add(unit.Key);
        foreach (var unit in units)
        {
            if (_done.Contains(unit.Key)) continue;
            int waiting = 0;
            foreach (var dependency in unit.DependsOn.Distinct())
            {
                if (_done.Contains(dependency)) continue;
                waiting++;
                if (!_dependents.TryGetValue(dependency, out var list)) _dependents[dependency] = list = new();
                list.Add(unit.Key);
            }
            if (waiting == 0) Enqueue(unit.Key); else _waitingOn[unit.Key] = waiting;
        }
    }

    public bool IsKnown(string key) => _units.ContainsKey(key);
    public WorkUnit Unit(string key) => _units[key];
    public bool IsDone(string key) => _done.Contains(key);
    public bool IsLeased(string key) => _leased.ContainsKey(key);
    public bool IsCommitting(string key) => _committing.Contains(key);
    public int ReadyCount(WorkStage stage) => _ready[stage].Count;
    public int Attempts(string key) => _attempts.GetValueOrDefault(key);
    public IReadOnlyCollection<Lease> Leases => _leased.Values;

    /// <summary>Leases the next ready unit of <paramref name="stage"/> to <paramref name="worker"/>, or returns null when none is ready.</summary>
    public Lease? Assign(WorkStage stage, TWorker worker, DateTime deadline)
    {
        var queue = _ready[stage];
        if (queue.First is not { } first) return null;
        var key = first.Value;
        queue.RemoveFirst();
        _queued.Remove(key);
        _attempts[key] = _attempts.GetValueOrDefault(key) + 1;
        int number = _lastLease[key] = _lastLease.GetValueOrDefault(key) + 1;
        var lease = new Lease(key, number, worker, deadline);
        _leased[key] = lease;
        return lease;
    }

    /// <summary>Whether <paramref name="lease"/> is the unit's current lease (handed out and neither ended nor expired).</summary>
    public bool IsCurrent(string key, int lease) => _leased.TryGetValue(key, out var current) && current.Number == lease;

    /// <summary>A heartbeat: the current lease lives on until <paramref name="deadline"/>. Returns false for any other lease.</summary>
    public bool Renew(string key, int lease, DateTime deadline)
    {
        if (!IsCurrent(key, lease)) return false;
        _leased[key] = _leased[key] with { Deadline = deadline };
        return true;
    }

    /// <summary>
    /// A worker reports <paramref name="lease"/> finished. When it is the current lease the unit is now being committed
    /// (it cannot expire or be leased again); returns whether that was so. A result of any other lease is still worth
    /// committing, since the ledger decides (it refuses stale leases and done units).
    /// </summary>
    public bool BeginCommit(string key, int lease)
    {
        if (!IsCurrent(key, lease)) return false;
        _leased.Remove(key);
        _committing.Add(key);
        return true;
    }

    /// <summary>
    /// The ledger holds the unit as done (this commit, or an earlier one). Returns the units this releases (now ready),
    /// or an empty list when the unit was already done here.
    /// </summary>
    public IReadOnlyList<string> Committed(string key, bool reused, bool counted = true)
    {
        _committing.Remove(key);
        _leased.Remove(key);
        if (_queued.Remove(key, out var node)) _ready[_units[key].Stage].Remove(node);
        _waitingOn.Remove(key);
        if (!_done.Add(key)) return [];
        if (counted) { if (reused) UnitsReused++; else UnitsRun++; }
        var released = new List<string>();
        foreach (var dependent in _dependents.GetValueOrDefault(key) ?? [])
        {
            if (!_waitingOn.TryGetValue(dependent, out int waiting)) continue;
            if (waiting > 1) { _waitingOn[dependent] = waiting - 1; continue; }
            _waitingOn.Remove(dependent);
            Enqueue(dependent);
            released.Add(dependent);
        }
        return released;
    }

    /// <summary>
    /// An attempt of <paramref name="lease"/> failed (the executor threw, its commit failed, its lease expired or its
    /// worker was lost). Only the current lease (or the commit of it) counts; the unit is re-queued unless the failure
    /// is permanent or this was its last attempt.
    /// </summary>
    public FailureDecision Fail(string key, int lease, string error, bool permanent)
    {
        bool current = IsCurrent(key, lease) || (_committing.Contains(key) && _lastLease.GetValueOrDefault(key) == lease);
        if (!current || _done.Contains(key)) return new FailureDecision.Ignore();
        _leased.Remove(key);
        _committing.Remove(key);
        int attempts = _attempts.GetValueOrDefault(key);
        if (permanent) return new FailureDecision.FailRun(error);
        if (attempts >= _maxAttempts) return new FailureDecision.FailRun($"{_units[key].Description} failed {attempts} times; last error: {error}");
        Retries++;
        Enqueue(key);
        return new FailureDecision.Retry(attempts);
    }

    /// <summary>Current leases whose deadline passed before <paramref name="now"/>.</summary>
    public IReadOnlyList<Lease> Expired(DateTime now) => _leased.Values.Where(l => l.Deadline < now).ToList();

    /// <summary>Current leases held by workers <paramref name="lost"/> selects.</summary>
    public IReadOnlyList<Lease> HeldBy(Func<TWorker, bool> lost) => _leased.Values.Where(l => lost(l.Worker)).ToList();

    private void Enqueue(string key)
    {
        if (_queued.ContainsKey(key)) return;
        _queued[key] = _ready[_units[key].Stage].AddLast(key);
    }
}
