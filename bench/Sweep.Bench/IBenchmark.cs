namespace Sweep.Bench;

/// <summary>
/// One benchmark: measures its subject and a baseline side by side in the same process and run,
/// and prints ratios (never absolute goals checked by tests). Found by reflection; add a class to add one.
/// </summary>
public interface IBenchmark
{
    /// <summary>Short name used on the command line, e.g. "capture".</summary>
    string Name { get; }
    string Description { get; }
    void Run(BenchmarkOutput output);
}

/// <summary>A benchmark that reports the peak memory of its process, and so runs in a fresh one.</summary>
public interface IOwnProcess;

/// <summary>Runs one benchmark in a child process of this program (<c>--alone NAME</c>), its output passed through.</summary>
public static class ChildProcess
{
    public static bool Run(string name)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        // Run as "dotnet sweep-bench.dll": the host needs the assembly; the apphost does not.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet") start.ArgumentList.Add(typeof(ChildProcess).Assembly.Location);
        start.ArgumentList.Add("--alone");
        start.ArgumentList.Add(name);
        using var process = System.Diagnostics.Process.Start(start)!;
        process.WaitForExit();
        if (process.ExitCode != 0) Console.Error.WriteLine($"sweep-bench: {name} exited with code {process.ExitCode}");
        return process.ExitCode == 0;
    }
}

/// <summary>Aligned "name: value" lines, so results read the same in a terminal and a log.</summary>
public sealed class BenchmarkOutput(TextWriter writer)
{
    public void Section(string title) => writer.WriteLine($"\n== {title}");
    public void Line(string label, string value) => writer.WriteLine($"  {label,-48} {value}");

    /// <summary>A measured figure, labelled with the highest one-minute load average seen during its runs.</summary>
    public void Line(string label, string value, Samples samples) => writer.WriteLine($"  {label,-48} {value}   (load {samples.MaxLoad:F1})");

    public void Note(string text) => writer.WriteLine($"  {text}");
}
