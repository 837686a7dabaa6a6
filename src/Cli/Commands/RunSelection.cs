using System.CommandLine;
using Sweep.Actors.Hosting;
using Sweep.Storage.Database;

namespace Sweep.Cli.Commands;

/// <summary>The optional RUN argument of commands that look at one run (<c>status</c>, <c>report</c>): a run id, or the newest run.</summary>
internal static class RunSelection
{
    public static Argument<long?> Argument() => new("run")
    {
        Description = "the run (default: the newest)", Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result => ParseRunId("RUN", result),
    };

    /// <summary>A run id (a positive integer); anything else is a parse error saying what was expected.</summary>
    public static long? ParseRunId(string what, System.CommandLine.Parsing.ArgumentResult result)
    {
        if (result.Tokens.Count == 0) return null;
        var text = result.Tokens[0].Value;
        if (long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long id) && id > 0) return id;
        result.AddError($"{what}: '{text}' is not a run id, expected a positive integer such as 12, the id `sweep run` prints");
        return null;
    }

    /// <summary>The run with that id, or the newest; a missing one is a one-line error.</summary>
    public static async Task<RunRecord> FindAsync(DatabaseSession session, long? runId, CancellationToken ct)
    {
        long id = runId ?? await session.Database.GetLatestRunIdAsync(ct) ?? throw new InvalidOperationException($"no runs in {session.Description}");
        return await session.Database.GetRunAsync(id, ct) ?? throw new KeyNotFoundException($"run {id} does not exist");
    }
}
