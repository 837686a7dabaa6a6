using Sweep.Storage.Database;

namespace Sweep.Pipeline.Execution;

/// <summary>What a unit produced, ready to be committed to the ledger in one transaction.</summary>
/// <param name="Reused">True when every output was already in the content-addressed cache.</param>
public sealed record UnitResult(UnitOutput Output, bool Reused);
