using Akka.Actor;
using Sweep.Actors.Coordination;
using Sweep.Actors.Hosting;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Runs;

namespace Sweep.Actors.Runs;

/// <summary>
/// <c>sweep run --cluster HOST:PORT</c>: hands a job (or a run to resume) to a cluster's coordinator
/// through any node, proving the shared secret, and waits for the outcome. The coordinator node reads
/// the job from the same path, so the job and its files must be on a filesystem both see.
/// </summary>
public static class ClusterSubmission
{
    public sealed record Outcome(long RunId, RunFinished Finished);

    public static async Task<Outcome> SubmitAsync(string endpoint, ClusterOptions client, JobSpec? spec, long? resumeRunId,
        Action<RunAccepted> accepted, CancellationToken ct)
    {
        if (!ClusterOptions.TryParseEndpoint(endpoint, out _, out _)) throw new ArgumentException($"--cluster: '{endpoint}' is not HOST:PORT");
        if (client.Problem() is { } problem) throw new ArgumentException(problem);
        var system = ActorSystem.Create(ClusterOptions.SystemName, client.ToConfig(clusterMember: false));
        try
        {
            var done = new TaskCompletionSource<Outcome>(TaskCreationOptions.RunContinuationsAsynchronously);
            var request = new Pending(spec is null ? null : Path.GetFullPath(spec.File), spec?.Digest, resumeRunId);
            var receptionist = system.ActorSelection($"{ClusterOptions.SeedAddress(endpoint)}/user/{ClusterNode.ReceptionistName}");
            system.ActorOf(Props.Create(() => new Submitter(receptionist, new ClusterSecret(client.Secret), request, accepted, done)), "submitter");
            await using var cancel = ct.Register(() => done.TrySetCanceled(ct));
            return await done.Task;
        }
        finally
        {
            await system.Terminate();
        }
    }

    private sealed record Pending(string? JobPath, string? Digest, long? ResumeRunId);

    private sealed class Submitter : ReceiveActor, IWithTimers
    {
        private sealed record Retry;
        private long? _runId;
        private int _tries;

        public ITimerScheduler Timers { get; set; } = null!;

        public Submitter(ActorSelection receptionist, ClusterSecret secret, Pending request, Action<RunAccepted> accepted,
            TaskCompletionSource<Outcome> done)
        {
            Receive<Retry>(_ =>
            {
                if (++_tries > 15) { done.TrySetException(new TimeoutException("no answer from the cluster's coordinator within 30 s (is a coordinator node up?)")); return; }
                receptionist.Tell(new Hello("submitter"));
                Timers.StartSingleTimer("retry", new Retry(), TimeSpan.FromSeconds(2));
            });
            Receive<Challenge>(c =>
            {
                Timers.Cancel("retry");
                Context.Watch(Sender);
                Sender.Tell(new SubmitRun(request.JobPath, request.Digest, request.ResumeRunId, c.Nonce,
                    secret.Prove(c.Nonce, SubmitRun.Subject(request.JobPath, request.Digest, request.ResumeRunId))));
            });
            Receive<Refused>(r => done.TrySetException(new InvalidOperationException("the cluster refused the run: " + r.Reason)));
            Receive<RunAccepted>(a => { _runId = a.RunId; accepted(a); });
            Receive<RunFinished>(f => done.TrySetResult(new Outcome(f.RunId, f)));
            Receive<Terminated>(_ => done.TrySetException(new RunFailedException(_runId ?? 0, _runId is { } id
                ? $"lost the cluster's coordinator while run {id} was running; continue it with: sweep run --resume {id}"
                : "lost the cluster's coordinator before the run started")));
        }

        protected override void PreStart() => Self.Tell(new Retry());
    }
}
