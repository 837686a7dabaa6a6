using System.Diagnostics;
using System.Text.Json;

namespace Sweep.Cli.Reports;

/// <summary>
/// A seeded 2-D UMAP layout of points, computed at report time by umap-js 1.4.0 under node (<c>tools/umap/layout.mjs</c>,
/// installed by scripts/install.sh). umap-js draws every random number from a seeded generator, so the same points give
/// the same layout on every run with the same node version; the report stays a script-free page with a PNG.
/// Where node or tools/umap is missing the layout is skipped with the reason, never a failed report.
/// </summary>
public static class UmapLayout
{
    public const int Neighbors = 15, Seed = 0;
    public const double MinDistance = 0.1;

    /// <summary>Set to a folder holding layout.mjs and node_modules/umap-js to use it instead of the repository's tools/umap.</summary>
    public const string DirectoryVariable = "SWEEP_UMAP_DIR";

    /// <summary>The tools/umap folder: <c>SWEEP_UMAP_DIR</c>, else the first found going up from the program and from the working directory.</summary>
    public static string? ToolDirectory()
    {
        if (Environment.GetEnvironmentVariable(DirectoryVariable) is { Length: > 0 } configured) return Usable(configured) ? configured : null;
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (Path.Combine(dir.FullName, "tools", "umap") is var candidate && Usable(candidate)) return candidate;
        return null;
    }

    private static bool Usable(string dir) =>
        File.Exists(Path.Combine(dir, "layout.mjs")) && Directory.Exists(Path.Combine(dir, "node_modules", "umap-js"));

    /// <summary>The layout ([x, y] per point), or null and why it was skipped.</summary>
    public static (double[][]? Layout, string? Skipped) Compute(IReadOnlyList<double[]> points, int seed = Seed)
    {
        if (points.Count < 5) return (null, $"{points.Count} items, UMAP needs at least 5");
        if (ToolDirectory() is not { } tool) return (null, "tools/umap is not installed (scripts/install.sh installs umap-js with npm)");
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = tool,
        };
        start.ArgumentList.Add(Path.Combine(tool, "layout.mjs"));
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e) { return (null, $"node cannot be started ({e.Message})"); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardInput.Write(JsonSerializer.Serialize(new { points, seed, neighbors = Neighbors, minDist = MinDistance }));
            process.StandardInput.Close();
            process.WaitForExit();
            if (process.ExitCode != 0) return (null, $"umap-js failed: {stderr.Result.ReplaceLineEndings(" ").Trim()}");
            var layout = JsonSerializer.Deserialize<double[][]>(stdout.Result);
            return layout is { } l && l.Length == points.Count && l.All(p => p.Length == 2 && p.All(double.IsFinite))
                ? (l, null) : (null, "umap-js returned no layout");
        }
    }
}
