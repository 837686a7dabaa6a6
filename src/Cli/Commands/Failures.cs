using Sweep.Actors.Runs;
using Sweep.Pipeline.Runs;

namespace Sweep.Cli.Commands;

/// <summary>Turns a failure into one line on stderr and a non-zero exit (SWEEP_DEBUG=1 adds the stack trace).</summary>
internal static class Failures
{
    public static async Task<int> ReportAsync(Func<Task<int>> command)
    {
        try
        {
            return await command();
        }
        catch (RunInterruptedException e)
        {
            Print(e.Message, e);
            return Interrupts.Current?.ExitCode ?? ExitCodes.Failure;
        }
        catch (RunFailedException e)
        {
            Print($"run {e.RunId} failed: {e.Message}", e);
            return ExitCodes.Failure;
        }
        catch (OperationCanceledException e)
        {
            Print("cancelled", e);
            return ExitCodes.Failure;
        }
        catch (Exception e)
        {
            Print(Describe(e), e);
            return ExitCodes.Failure;
        }
    }

    /// <summary>
    /// The message a user needs: through AggregateException's "One or more errors occurred (...)" wrappers to the
    /// errors inside, and past "See InnerException for details" to that inner exception's message.
    /// </summary>
    private static string Describe(Exception e)
    {
        if (e is AggregateException aggregate)
            return string.Join("; ", aggregate.Flatten().InnerExceptions.Select(Describe).Distinct());
        const string seeInner = "See InnerException for details.";
        if (e.InnerException is { } inner && e.Message.Contains(seeInner, StringComparison.Ordinal))
            return e.Message.Replace(seeInner, "").TrimEnd(' ', '.') + ": " + Describe(inner);
        return e.Message;
    }

    private static void Print(string message, Exception e)
    {
        // libtorch puts its C++ stack frames in the message ("Exception raised from ... frame #0: ..."): never show them.
        int frames = message.IndexOf("Exception raised from", StringComparison.Ordinal);
        if (frames > 0) message = message[..frames];
        Console.Error.WriteLine("sweep: " + message.ReplaceLineEndings(" ").Trim());
        if (Environment.GetEnvironmentVariable("SWEEP_DEBUG") == "1") Console.Error.WriteLine(e);
    }
}
