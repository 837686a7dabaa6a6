using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Sweep.Tests.Common;

namespace Sweep.Storage.Tests;

/// <summary>
/// Runs tests/arrow-js/read-shard.mjs (the npm <c>apache-arrow</c> package under Node.js) on an Arrow file
/// and returns the JSON it prints. Node and the package are installed by scripts/install.sh; when either
/// is missing this fails with the fix in the message, never skips.
/// </summary>
public static class ArrowJsReader
{
    public static string Folder { get; } = Path.Combine(Fixtures.RepoRoot, "tests", "arrow-js");

    public static JsonElement Read(string path)
    {
        var package = Path.Combine(Folder, "node_modules", "apache-arrow", "package.json");
        if (!File.Exists(package))
            throw new InvalidOperationException($"{package} is missing: run scripts/install.sh (it runs 'npm ci' in {Folder})");

        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(Folder, "read-shard.mjs"));
        start.ArgumentList.Add(path);
        Process process;
        try { process = Process.Start(start)!; }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"'node' could not be started ({ex.Message}): install Node.js 20 or newer and run scripts/install.sh", ex);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"node read-shard.mjs exited with {process.ExitCode}: {stderr.Result.Trim()}");
            return JsonDocument.Parse(stdout.Result).RootElement.Clone();
        }
    }
}
