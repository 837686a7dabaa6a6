using System.Diagnostics;

namespace Sweep.Integration.Tests;

/// <summary>Runs the real `sweep` command (the built CLI beside the tests) as a child process.</summary>
public static class SweepProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public static async Task<Result> RunAsync(string workingDirectory, params string[] args)
    {
        using var process = Start(workingDirectory, args);
        return await WaitAsync(process);
    }

    /// <summary>Starts `sweep` with <paramref name="args"/> (SWEEP_HOME = the working directory's .sweep) without waiting for it.</summary>
    public static Process Start(string workingDirectory, params string[] args) => Start(workingDirectory, null, args);

    /// <summary>The same with extra environment variables (e.g. SWEEP_FAULT_UNIT_DELAY_MS to slow every unit down).</summary>
    public static Process Start(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sweep.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment.Remove("SWEEP_DB");
        start.Environment["SWEEP_HOME"] = Path.Combine(workingDirectory, ".sweep");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }

    /// <summary>Its exit code and everything it printed, once it has exited (at most 3 minutes).</summary>
    public static async Task<Result> WaitAsync(Process process)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
