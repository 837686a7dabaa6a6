using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Sweep.Actors.Hosting;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Jobs.Spec;
using Sweep.Storage.Database;

namespace Sweep.Actors.Coordination;

/// <summary>
/// The cluster's coordinator, a cluster singleton on a node with the coordinator role. Admits nodes
/// and submitters that prove the shared secret (a node that fails is downed), runs submitted jobs one
/// at a time: records the run, starts a <see cref="RunCoordinator"/> for it, tells every admitted node
/// to prepare the job and pull units, and reports the outcome to the submitter. All run state that
/// matters is in the ledger, so a run whose coordinator died is continued with <c>--resume</c>.
/// </summary>
public sealed class ClusterCoordinator : ReceiveActor
{
    private sealed record Submission(SubmitRun Request, IActorRef Submitter);
    private sealed record RunReady(Submission Submission, StartedRun Run);
    private sealed record RunCouldNotStart(Submission Submission, string Error);
    private sealed record RunCompleted(StartedRun Run, IActorRef Submitter, RunOutcome Outcome, string? Error);

    private readonly SweepDatabase _database;
    private readonly ClusterSecret _secret;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly HashSet<string> _nonces = new();
    private readonly Dictionary<IActorRef, string> _nodes = new();
    private readonly Queue<Submission> _queue = new();
    private StartedRun? _active;
    private RunStarted? _started;
    private bool _starting;

    public ClusterCoordinator(SweepDatabase database, ClusterSecret secret)
    {
        _database = database; _secret = secret;
        Receive<Hello>(_ =>
        {
            var nonce = ClusterSecret.NewNonce();
            if (_nonces.Count > 10_000) _nonces.Clear(); // unanswered challenges are worthless; bound the set
            _nonces.Add(nonce);
            Sender.Tell(new Challenge(nonce));
        });
        Receive<JoinAsNode>(OnJoin);
        Receive<SubmitRun>(OnSubmit);
        Receive<RunReady>(OnRunReady);
        Receive<RunCouldNotStart>(f =>
        {
            _starting = false;
            f.Submission.Submitter.Tell(new Refused(f.Error));
            StartNext();
        });
        Receive<RunCompleted>(OnRunCompleted);
        Receive<Terminated>(t => _nodes.Remove(t.ActorRef));
    }

    private bool Answered(string nonce, string subject, string proof) => _nonces.Remove(nonce) && _secret.Verify(nonce, subject, proof);

    private void OnJoin(JoinAsNode join)
    {
        if (!Answered(join.Nonce, JoinAsNode.Subject(join.Node), join.Proof))
        {
            _log.Warning("node {0} ({1}) did not prove the cluster secret; downing it", join.Node, Sender.Path.Address);
            Sender.Tell(new Refused("wrong shared secret (SWEEP_CLUSTER_SECRET differs from the coordinator's)"));
            if (Sender.Path.Address.HasGlobalScope) Cluster.Get(Context.System).Down(Sender.Path.Address);
            return;
        }
        _nodes[Sender] = join.Node;
        Context.Watch(Sender);
        Sender.Tell(new Welcome(join.Node));
        if (_started != null) Sender.Tell(_started);
    }

    private void OnSubmit(SubmitRun submit)
    {
        if (!Answered(submit.Nonce, SubmitRun.Subject(submit.JobPath, submit.Digest, submit.ResumeRunId), submit.Proof))
        {
            Sender.Tell(new Refused("wrong shared secret (SWEEP_CLUSTER_SECRET differs from the coordinator's)"));
            return;
        }
        _queue.Enqueue(new Submission(submit, Sender));
        StartNext();
    }

    private void StartNext()
    {
        if (_active != null || _starting || !_queue.TryDequeue(out var submission)) return;
        _starting = true;
        PrepareAsync(submission).PipeTo(Self);
    }

    // Off the actor: reading the job, tokenizing the corpus and digesting weights take a while.
    private async Task<object> PrepareAsync(Submission submission)
    {
        var request = submission.Request;
        long? runId = request.ResumeRunId;
        try
        {
            JobSpec spec;
            if (runId is { } resume) spec = await RunResumer.LoadJobAsync(_database, resume, request.JobPath, CancellationToken.None);
            else
            {
                spec = LoadJob(request.JobPath!);
                if (spec.Digest != request.Digest)
                    return new RunCouldNotStart(submission,
                        $"{request.JobPath}: the coordinator node reads a different job there than the submitter (digest {spec.Digest[..12]}, submitted {request.Digest?[..Math.Min(12, request.Digest.Length)]}); nodes need the job's files at the same paths (a shared filesystem)");
                runId = await StartedRun.CreateAsync(spec, _database, CancellationToken.None);
            }
            return new RunReady(submission, await StartedRun.StartAsync(_database, runId.Value, spec, resume: request.ResumeRunId is not null, CancellationToken.None));
        }
        catch (Exception e)
        {
            return new RunCouldNotStart(submission, runId is { } failed ? $"run {failed} failed: {e.Message}" : e.Message);
        }
    }

    private static JobSpec LoadJob(string path)
    {
        try { return JobLoader.Load(path); }
        catch (JobValidationException e) { throw new InvalidDataException(string.Join("; ", e.Errors), e); }
    }

    private void OnRunReady(RunReady ready)
    {
        _starting = false;
        var run = ready.Run;
        var spec = run.Spec;
        var outcome = new TaskCompletionSource<RunOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        var coordinator = Context.ActorOf(RunCoordinator.Props(run.Prepared.Units, run.Done, run.LastLeases, run.Ledger,
            new LoggedRunProgress(_log, run.RunId), outcome, LeaseSettings.From(spec.Execution)), $"run-{run.RunId}");
        _active = run;
        _started = new RunStarted(run.RunId, spec.SourceText, spec.File, spec.BaseDirectory, spec.Digest, coordinator);
        ready.Submission.Submitter.Tell(new RunAccepted(run.RunId, run.Prepared.Units.Count, run.Done.Count));
        foreach (var node in _nodes.Keys) node.Tell(_started);

        var submitter = ready.Submission.Submitter;
        var self = Self;
        outcome.Task.ContinueWith(async t =>
        {
            try
            {
                await run.FinishAsync(t.Result);
                return new RunCompleted(run, submitter, t.Result, null);
            }
            catch (Exception e)
            {
                return new RunCompleted(run, submitter, t.Result, e.Message);
            }
        }).Unwrap().PipeTo(self);
    }

    private void OnRunCompleted(RunCompleted completed)
    {
        var o = completed.Outcome;
        completed.Submitter.Tell(new RunFinished(completed.Run.RunId, o.Succeeded, o.Error, o.UnitsRun, o.UnitsReused, o.Retries));
        foreach (var node in _nodes.Keys) node.Tell(new RunEnded(completed.Run.RunId));
        StopHeartbeat();
        StartNext();
    }

    // A coordinator that stops (its node leaves or is downed) no longer drives its run: the heartbeat goes quiet.
    protected override void PostStop() => StopHeartbeat();

    private void StopHeartbeat()
    {
        if (_active is { } active) _ = active.DisposeAsync().AsTask();
        _active = null;
        _started = null;
    }

    public static Props Props(SweepDatabase database, ClusterSecret secret) =>
        Akka.Actor.Props.Create(() => new ClusterCoordinator(database, secret));

    /// <summary>The coordinator's view of progress: units appear in its log only when retried; the ledger has the rest.</summary>
    private sealed class LoggedRunProgress(ILoggingAdapter log, long runId) : IRunProgress
    {
        public void Planned(IReadOnlyDictionary<WorkStage, int> unitsPerStage, IReadOnlyDictionary<WorkStage, int> alreadyDone) { }
        public void UnitCompleted(WorkUnit unit, bool reused) { }
        public void UnitRetried(WorkUnit unit, int attempt, string error) =>
            log.Warning("run {0}: {1} attempt {2} failed, retrying: {3}", runId, unit.Description, attempt, error);
    }
}
