namespace Sweep.Tests.Common;

/// <summary>
/// Locates ../shared/fixtures (relative to the repository root). Under CI=true a missing
/// fixture folder is a failure, never a silent pass; elsewhere tests may skip with a reason.
/// </summary>
public static class Fixtures
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string Root => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "fixtures"));

    /// <summary>Returns the fixture path, or null when absent outside CI (the caller then skips).</summary>
    public static string? TryGet(string relative)
    {
        var path = Path.Combine(Root, relative);
        if (File.Exists(path) || Directory.Exists(path)) return path;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"fixture missing under CI: {path} (expected ../shared/fixtures beside the clone)");
        return null;
    }

    /// <summary>Returns the fixture path or throws with a clear message (for tests that cannot skip).</summary>
    public static string Require(string relative) =>
        TryGet(relative) ?? throw new InvalidOperationException($"fixture missing: {Path.Combine(Root, relative)}");

    // The test project records the repository root at build time, so builds with a separate
    // --artifacts-path still find ../shared beside the clone.
    private static string FindRepoRoot() =>
        typeof(Fixtures).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "SweepRepoRoot")?.Value
        ?? throw new InvalidOperationException("SweepRepoRoot assembly metadata missing from the test project");
}
