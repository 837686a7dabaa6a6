using Sweep.Actors.Coordination;
using Sweep.Pipeline.Units;

namespace Sweep.Actors.Tests;

/// <summary>The coordinator's schedule as a plain object: dependencies, leases, expiry, commits, retries and failures, without actors or clocks.</summary>
public sealed class WorkStateTests
{
    private sealed record TestUnit(string Key, WorkStage Kind, IReadOnlyList<string> DependsOn) : WorkUnit(Key, DependsOn)
    {
        public override WorkStage Stage => Kind;
        public override string Description => "unit " + Key;
    }

    private static readonly DateTime T0 = new(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    private static WorkState<string> State(int maxAttempts = 3, IReadOnlySet<string>? done = null, IReadOnlyDictionary<string, int>? lastLease = null) =>
        new([
            new TestUnit("c1", WorkStage.Capture, []), new TestUnit("c2", WorkStage.Capture, []),
            new TestUnit("map", WorkStage.Analysis, ["c1", "c2"]), new TestUnit("final", WorkStage.Analysis, ["map"]),
        ], done ?? new HashSet<string>(), lastLease ?? new Dictionary<string, int>(), maxAttempts);

    [Fact]
    public void Units_become_ready_in_plan_order_once_everything_they_depend_on_is_committed()
    {
        var state = State();
        Assert.Equal(0, state.ReadyCount(WorkStage.Analysis));
        var first = state.Assign(WorkStage.Capture, "w1", T0)!;
        var second = state.Assign(WorkStage.Capture, "w2", T0)!;
        Assert.Equal(("c1", "c2"), (first.Key, second.Key));
        Assert.Null(state.Assign(WorkStage.Capture, "w3", T0));

        Assert.True(state.BeginCommit("c1", first.Number));
        Assert.Empty(state.Committed("c1", reused: false));
        Assert.Null(state.Assign(WorkStage.Analysis, "r1", T0));
        state.BeginCommit("c2", second.Number);
        Assert.Equal(["map"], state.Committed("c2", reused: true));
        Assert.Equal("map", state.Assign(WorkStage.Analysis, "r1", T0)!.Key);
        Assert.Equal((1, 1), (state.UnitsRun, state.UnitsReused));
    }

    [Fact]
    public void Lease_numbers_continue_from_the_ledger_and_never_repeat_while_attempts_count_this_execution_only()
    {
        var state = State(lastLease: new Dictionary<string, int> { ["c1"] = 4 });
        var lease = state.Assign(WorkStage.Capture, "w1", T0)!;
        Assert.Equal(5, lease.Number);
        Assert.Equal(1, state.Attempts("c1"));

        Assert.IsType<WorkState<string>.FailureDecision.Retry>(state.Fail("c1", 5, "disk full", permanent: false));
        var again = state.Assign(WorkStage.Capture, "w2", T0)!;
        Assert.Equal(("c2", 1), (again.Key, again.Number));  // c1 went to the back of the queue
        Assert.Equal(("c1", 6), (state.Assign(WorkStage.Capture, "w1", T0)!.Key, state.Leases.Single(l => l.Key == "c1").Number));
        Assert.Equal(2, state.Attempts("c1"));
    }

    [Fact]
    public void A_lease_whose_deadline_passes_expires_unless_a_heartbeat_renews_it()
    {
        var state = State();
        var c1 = state.Assign(WorkStage.Capture, "w1", T0.AddSeconds(10))!;
        var c2 = state.Assign(WorkStage.Capture, "w2", T0.AddSeconds(10))!;
        Assert.True(state.Renew("c2", c2.Number, T0.AddSeconds(30)));
        Assert.False(state.Renew("c2", c2.Number + 1, T0.AddSeconds(60)));

        var expired = state.Expired(T0.AddSeconds(20));
        Assert.Equal(["c1"], expired.Select(l => l.Key));
        Assert.IsType<WorkState<string>.FailureDecision.Retry>(state.Fail("c1", c1.Number, "lease expired", permanent: false));
        Assert.Empty(state.Expired(T0.AddSeconds(20)));
        Assert.Equal(1, state.Retries);
    }

    [Fact]
    public void Failures_of_a_lease_that_is_no_longer_current_change_nothing()
    {
        var state = State();
        var old = state.Assign(WorkStage.Capture, "w1", T0)!;
        state.Fail("c1", old.Number, "lost", permanent: false);
        state.Assign(WorkStage.Capture, "w2", T0);   // c2
        var current = state.Assign(WorkStage.Capture, "w3", T0)!;
        Assert.Equal("c1", current.Key);

        Assert.IsType<WorkState<string>.FailureDecision.Ignore>(state.Fail("c1", old.Number, "late failure", permanent: true));
        Assert.False(state.BeginCommit("c1", old.Number));
        Assert.True(state.IsLeased("c1"));
        Assert.Equal(1, state.Retries);
    }

    [Fact]
    public void A_unit_fails_the_run_after_max_attempts_or_at_once_when_the_failure_is_permanent()
    {
        var state = State(maxAttempts: 2);
        var first = state.Assign(WorkStage.Capture, "w", T0)!;
        state.Fail("c1", first.Number, "broken pipe #1", permanent: false);
        state.Assign(WorkStage.Capture, "w", T0);   // c2
        var second = state.Assign(WorkStage.Capture, "w", T0)!;
        var decision = Assert.IsType<WorkState<string>.FailureDecision.FailRun>(state.Fail("c1", second.Number, "broken pipe #2", permanent: false));
        Assert.Equal("unit c1 failed 2 times; last error: broken pipe #2", decision.Reason);

        var permanent = Assert.IsType<WorkState<string>.FailureDecision.FailRun>(
            state.Fail("c2", state.Leases.Single(l => l.Key == "c2").Number, "no config.json", permanent: true));
        Assert.Equal("no config.json", permanent.Reason);
    }

    [Fact]
    public void A_unit_being_committed_neither_expires_nor_is_leased_again_and_a_failed_commit_re_queues_it()
    {
        var state = State();
        var lease = state.Assign(WorkStage.Capture, "w1", T0)!;
        Assert.True(state.BeginCommit("c1", lease.Number));
        Assert.Empty(state.Expired(T0.AddHours(1)));
        Assert.True(state.IsCommitting("c1"));

        Assert.IsType<WorkState<string>.FailureDecision.Retry>(state.Fail("c1", lease.Number, "database gone", permanent: false));
        Assert.False(state.IsCommitting("c1"));
        Assert.Equal(2, state.ReadyCount(WorkStage.Capture));
    }

    [Fact]
    public void A_commit_of_a_re_queued_unit_takes_it_out_of_its_queue_and_a_second_commit_counts_nothing()
    {
        var state = State();
        var lease = state.Assign(WorkStage.Capture, "w1", T0)!;
        state.Fail("c1", lease.Number, "lease expired", permanent: false);   // back in the queue
        Assert.Equal(2, state.ReadyCount(WorkStage.Capture));

        state.Committed("c1", reused: false);   // the ledger accepted the late result: still the latest lease there
        Assert.Equal(1, state.ReadyCount(WorkStage.Capture));
        Assert.Empty(state.Committed("c1", reused: false));
        Assert.Equal(1, state.UnitsRun);
    }

    [Fact]
    public void Units_the_ledger_holds_as_done_are_never_scheduled_and_release_their_dependents()
    {
        var state = State(done: new HashSet<string> { "c1", "c2" });
        Assert.Equal(0, state.ReadyCount(WorkStage.Capture));
        Assert.Equal("map", state.Assign(WorkStage.Analysis, "r", T0)!.Key);
        Assert.Equal(2, state.DoneCount);
        Assert.False(state.IsComplete);
    }

    [Fact]
    public void Leases_held_by_lost_workers_are_found()
    {
        var state = State();
        state.Assign(WorkStage.Capture, "node-a/w1", T0);
        state.Assign(WorkStage.Capture, "node-b/w1", T0);
        Assert.Equal(["c1"], state.HeldBy(w => w.StartsWith("node-a/", StringComparison.Ordinal)).Select(l => l.Key));
    }

    [Fact]
    public void A_plan_that_depends_on_an_unknown_unit_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new WorkState<string>([new TestUnit("a", WorkStage.Analysis, ["missing"])],
            new HashSet<string>(), new Dictionary<string, int>(), 3));
    }
}
