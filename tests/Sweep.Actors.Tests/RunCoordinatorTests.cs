using System.Collections.Concurrent;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using Sweep.Actors.Coordination;
using Sweep.Actors.Workers;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Ledger;
using Sweep.Pipeline.Results;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Database;

namespace Sweep.Actors.Tests;

/// <summary>
/// The coordinator's protocol with real UnitWorker actors: dependencies, retries, permanent failures,
/// a worker that dies mid-unit, and commit-before-done. Executors here are scripted; the ledger records calls and
/// decides commits by the rule the PostgreSQL ledger applies (tested against the database in Sweep.Pipeline.Tests):
/// the first commit of the unit's latest lease wins, a done unit or a stale lease is refused.
/// </summary>
public sealed class RunCoordinatorTests : TestKit
{
    private sealed class RecordingLedger : IRunLedger
    {
        private readonly ConcurrentDictionary<string, int> _latest = new();
        private readonly ConcurrentDictionary<string, bool> _done = new();
        public ConcurrentQueue<string> Events { get; } = new();
        public Task MarkStartedAsync(string unit, int lease, string worker, string node)
        {
            _latest[unit] = lease;
            Events.Enqueue($"start {unit}");
            return Task.CompletedTask;
        }
        public Task<CommitOutcome> CommitAsync(string unit, int lease, UnitReport report)
        {
            if (_done.ContainsKey(unit)) { Events.Enqueue($"refused {unit} (done)"); return Task.FromResult(CommitOutcome.AlreadyDone); }
            if (_latest.GetValueOrDefault(unit) != lease) { Events.Enqueue($"refused {unit} (stale lease {lease})"); return Task.FromResult(CommitOutcome.StaleLease); }
            _done[unit] = true;
            Events.Enqueue($"done {unit}");
            return Task.FromResult(CommitOutcome.Committed);
        }
        public Task MarkRetriedAsync(string unit, int lease, string error) { Events.Enqueue($"retried {unit}: {error}"); return Task.CompletedTask; }
        public Task MarkFailedAsync(string unit, int lease, string error) { Events.Enqueue($"failed {unit}: {error}"); return Task.CompletedTask; }
    }

    private sealed record TestUnit(string Key, WorkStage Kind, IReadOnlyList<string> DependsOn) : WorkUnit(Key, DependsOn)
    {
        public override WorkStage Stage => Kind;
        public override string Description => Key;
    }

    private sealed class CountingProgress : IRunProgress
    {
        public int Completed, Retried;
        public void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone) { }
        public void UnitCompleted(WorkUnit unit, bool reused) => Interlocked.Increment(ref Completed);
        public void UnitRetried(WorkUnit unit, int attempt, string error) => Interlocked.Increment(ref Retried);
    }

    /// <summary>Runs units by calling a script; records the order in which units ran.</summary>
    private sealed class ScriptedExecutor(Func<WorkUnit, int, Task> script, ConcurrentQueue<string> ran) : IUnitExecutor
    {
        private readonly ConcurrentDictionary<string, int> _calls = new();
        public async Task<UnitReport> ExecuteAsync(WorkUnit unit, int lease, CancellationToken cancellationToken)
        {
            int call = _calls.AddOrUpdate(unit.Key, 1, (_, n) => n + 1);
            await script(unit, call);
            ran.Enqueue(unit.Key);
            return Report(unit.Key, lease);
        }
        public void Dispose() { }
    }

    // The recording ledger never reads result files; what it commits is decided by unit and lease alone.
    private static UnitReport Report(string key, int lease) => new($"{key}.{lease}.rows", "", 0, 0, 0, 0, Reused: false);

    private static WorkUnit Capture(string key) => new TestUnit(key, WorkStage.Capture, []);
    private static WorkUnit Analysis(string key, params string[] deps) => new TestUnit(key, WorkStage.Analysis, deps);

    private IReadOnlyDictionary<string, WorkUnit> _units = new Dictionary<string, WorkUnit>();
    private LeaseSettings _lease = new(3, TimeSpan.FromSeconds(30));

    private (Task<RunOutcome> Outcome, IActorRef Coordinator) Start(IReadOnlyList<WorkUnit> units, IRunLedger ledger, IRunProgress progress,
        int maxAttempts = 3, TimeSpan? lease = null)
    {
        _units = units.ToDictionary(u => u.Key);
        _lease = new LeaseSettings(maxAttempts, lease ?? TimeSpan.FromSeconds(30));
        var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var coordinator = Sys.ActorOf(RunCoordinator.Props(units, new HashSet<string>(), new Dictionary<string, int>(), ledger, progress, outcome, _lease));
        return (outcome.Task, coordinator);
    }

    private Props Worker(WorkStage stage, IActorRef coordinator, IUnitExecutor executor) =>
        UnitWorker.Props(stage, coordinator, executor, _units, new WorkerSettings("test", _lease.Heartbeat));

    [Fact]
    public async Task Analyses_run_only_after_every_capture_they_depend_on_is_committed()
    {
        var ledger = new RecordingLedger();
        var ran = new ConcurrentQueue<string>();
        var units = new[] { Capture("c1"), Capture("c2"), Capture("c3"), Analysis("a1", "c1", "c2"), Analysis("a2", "c3") };
        var (outcome, coordinator) = Start(units, ledger, new CountingProgress());
        var quick = new ScriptedExecutor((_, _) => Task.Delay(5), ran);
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, quick));
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, new ScriptedExecutor((_, _) => Task.Delay(5), ran)));
        Sys.ActorOf(Worker(WorkStage.Analysis, coordinator, new ScriptedExecutor((_, _) => Task.CompletedTask, ran)));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(result.Succeeded);
        Assert.Equal(5, result.UnitsRun);
        var events = ledger.Events.ToList();
        Assert.True(events.IndexOf("done c1") < events.IndexOf("start a1") && events.IndexOf("done c2") < events.IndexOf("start a1"));
        Assert.True(events.IndexOf("done c3") < events.IndexOf("start a2"));
    }

    [Fact]
    public async Task A_unit_that_fails_transiently_is_retried_and_the_run_succeeds()
    {
        var progress = new CountingProgress();
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1"), Capture("c2")], new RecordingLedger(), progress);
        var flaky = new ScriptedExecutor((unit, call) => unit.Key == "c2" && call == 1 ? throw new IOException("disk hiccup") : Task.CompletedTask, ran);
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, flaky));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(result.Succeeded);
        Assert.Equal(1, result.Retries);
        Assert.Equal(1, progress.Retried);
        Assert.Equal(2, progress.Completed);
    }

    [Fact]
    public async Task A_unit_that_keeps_failing_fails_the_run_with_its_last_error_after_max_attempts()
    {
        var ledger = new RecordingLedger();
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1")], ledger, new CountingProgress(), maxAttempts: 2);
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator,
            new ScriptedExecutor((_, call) => throw new IOException($"broken pipe #{call}"), ran)));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(result.Succeeded);
        Assert.Contains("failed 2 times", result.Error);
        Assert.Contains("broken pipe #2", result.Error);
        await AwaitConditionAsync(() => Task.FromResult(ledger.Events.Contains("failed c1: broken pipe #2")));
    }

    [Fact]
    public async Task A_permanent_failure_fails_the_run_at_once()
    {
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1"), Capture("c2")], new RecordingLedger(), new CountingProgress());
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator,
            new ScriptedExecutor((_, _) => throw new PermanentUnitFailure("model 'x': config.json: file not found"), ran)));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(result.Succeeded);
        Assert.Equal("model 'x': config.json: file not found", result.Error);
        Assert.Equal(0, result.Retries);
    }

    [Fact]
    public async Task A_worker_that_stops_mid_unit_loses_the_unit_to_another_worker()
    {
        var ledger = new RecordingLedger();
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1")], ledger, new CountingProgress());
        var hang = new TaskCompletionSource();
        var stuck = Sys.ActorOf(Worker(WorkStage.Capture, coordinator, new ScriptedExecutor((_, _) => hang.Task, ran)));
        await AwaitConditionAsync(() => Task.FromResult(ledger.Events.Contains("start c1")));

        Sys.Stop(stuck);
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, new ScriptedExecutor((_, _) => Task.CompletedTask, ran)));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.Succeeded);
        Assert.Equal(["c1"], ran.ToArray());
        Assert.Equal(2, ledger.Events.Count(e => e == "start c1"));
        hang.SetResult();
    }

    [Fact]
    public async Task A_unit_whose_worker_sends_no_heartbeat_is_re_leased_after_its_lease_expires()
    {
        var ledger = new RecordingLedger();
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1")], ledger, new CountingProgress(), lease: TimeSpan.FromMilliseconds(400));
        var silent = CreateTestProbe();
        coordinator.Tell(new RequestWork(WorkStage.Capture, "silent", "test"), silent.Ref);
        var assigned = silent.ExpectMsg<WorkAssigned>();
        Assert.Equal("c1", assigned.UnitKey);

        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, new ScriptedExecutor((_, _) => Task.CompletedTask, ran)));
        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(result.Succeeded);
        Assert.Equal(1, result.Retries);
        Assert.Contains(ledger.Events, e => e.StartsWith("retried c1: no heartbeat from silent"));
        Assert.Equal(2, ledger.Events.Count(e => e == "start c1"));
    }

    [Fact]
    public async Task Heartbeats_keep_a_unit_that_outlasts_its_lease_with_its_worker()
    {
        var ledger = new RecordingLedger();
        var ran = new ConcurrentQueue<string>();
        var (outcome, coordinator) = Start([Capture("c1")], ledger, new CountingProgress(), lease: TimeSpan.FromMilliseconds(400));
        Sys.ActorOf(Worker(WorkStage.Capture, coordinator, new ScriptedExecutor((_, _) => Task.Delay(1500), ran)));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(result.Succeeded);
        Assert.Equal(0, result.Retries);
        Assert.Equal(["start c1", "done c1"], ledger.Events.ToArray());
    }

    [Fact]
    public async Task A_late_result_of_an_expired_lease_is_refused_by_the_ledger_and_the_current_lease_commits()
    {
        var ledger = new RecordingLedger();
        var (outcome, coordinator) = Start([Capture("c1")], ledger, new CountingProgress(), lease: TimeSpan.FromMilliseconds(300));
        var first = CreateTestProbe();
        var second = CreateTestProbe();
        coordinator.Tell(new RequestWork(WorkStage.Capture, "first", "test"), first.Ref);
        var lease1 = first.ExpectMsg<WorkAssigned>();
        coordinator.Tell(new RequestWork(WorkStage.Capture, "second", "test"), second.Ref);
        var lease2 = second.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10)); // after the first lease expired
        Assert.NotEqual(lease1.Lease, lease2.Lease);

        coordinator.Tell(new WorkSucceeded("c1", lease1.Lease, Report("c1", lease1.Lease)), first.Ref);
        coordinator.Tell(new WorkSucceeded("c1", lease2.Lease, Report("c1", lease2.Lease)), second.Ref);

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.Succeeded);
        Assert.Equal(1, result.UnitsRun);
        Assert.Equal(1, ledger.Events.Count(e => e == "done c1"));
        Assert.Contains($"refused c1 (stale lease {lease1.Lease})", ledger.Events);
    }

    [Fact]
    public async Task A_unit_whose_leases_keep_expiring_fails_the_run_naming_the_unit_and_the_lost_heartbeats()
    {
        var (outcome, coordinator) = Start([Capture("c1")], new RecordingLedger(), new CountingProgress(), maxAttempts: 2, lease: TimeSpan.FromMilliseconds(200));
        var silent = CreateTestProbe();
        coordinator.Tell(new RequestWork(WorkStage.Capture, "silent-1", "test"), silent.Ref);
        silent.ExpectMsg<WorkAssigned>();
        coordinator.Tell(new RequestWork(WorkStage.Capture, "silent-2", "test"), silent.Ref);
        silent.ExpectMsg<WorkAssigned>(TimeSpan.FromSeconds(10));

        var result = await outcome.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.False(result.Succeeded);
        Assert.Contains("c1 failed 2 times", result.Error);
        Assert.Contains("no heartbeat from silent-2", result.Error);
    }
}
