using Akka.Actor;

namespace Sweep.Actors.Coordination;

// The cluster coordinator's protocol with nodes and submitters. Every party first proves it holds
// the cluster's shared secret: Hello -> Challenge(nonce) -> an answer carrying HMAC(secret, nonce + subject).

/// <summary>Asks the coordinator for a nonce.</summary>
public sealed record Hello(string From);

/// <summary>A fresh nonce, valid for one answer.</summary>
public sealed record Challenge(string Nonce);

/// <summary>A node offers its workers; subject of the proof: <see cref="Subject"/>.</summary>
public sealed record JoinAsNode(string Node, IReadOnlyList<string> Roles, string Nonce, string Proof)
{
    public static string Subject(string node) => "join " + node;
}

public sealed record Welcome(string Node);

/// <summary>The coordinator refused a node or a submission; the node leaves the cluster.</summary>
public sealed record Refused(string Reason);

/// <summary>
/// Run the job at <paramref name="JobPath"/> (a path the coordinator node can read) whose digest the
/// submitter computed, or resume run <paramref name="ResumeRunId"/>.
/// </summary>
public sealed record SubmitRun(string? JobPath, string? Digest, long? ResumeRunId, string Nonce, string Proof)
{
    public static string Subject(string? jobPath, string? digest, long? resume) => $"submit {jobPath} {digest} {resume}";
}

public sealed record RunAccepted(long RunId, int Units, int AlreadyDone);

public sealed record RunFinished(long RunId, bool Succeeded, string? Error, int UnitsRun, int UnitsReused, int Retries);

/// <summary>
/// Tells a node to prepare the run's job itself (the YAML as stored with the run; its paths resolve against
/// <paramref name="BaseDirectory"/> on every node, so models and corpus must be there: a shared filesystem)
/// and let its workers pull from <paramref name="Coordinator"/>.
/// </summary>
public sealed record RunStarted(long RunId, string SpecYaml, string JobFile, string BaseDirectory, string Digest, IActorRef Coordinator);

public sealed record RunEnded(long RunId);
