namespace Sweep.Pipeline.Integrity;

/// <summary>
/// Where a damaged stored file is reported: one line on stderr, <c>sweep: {what was found}; {what Sweep does about it}</c>,
/// once per file and finding in a process, however many units or attempts come across it.
/// </summary>
public static class DamageLog
{
    private static readonly HashSet<string> Reported = new();

    /// <summary>Reports <paramref name="finding"/> (it names the file) and <paramref name="action"/>, unless this process already did.</summary>
    public static void Report(string finding, string action)
    {
        lock (Reported)
            if (!Reported.Add(finding)) return;
        Console.Error.WriteLine($"sweep: {OneLine(finding)}; {action}");
    }

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim();
}
