using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// Runs a script of tests/results-js (Node.js with playwright-core driving Debian's Chromium, or hyparquet) and
/// returns the JSON it prints. Node, the packages (scripts/install.sh runs npm ci there) and /usr/bin/chromium
/// (Debian's chromium package, also installed by scripts/install.sh) are required: a missing one fails with the fix
/// in the message, never skips.
/// </summary>
public static class ResultsJs
{
    public static string Folder { get; } = Path.Combine(Fixtures.RepoRoot, "tests", "results-js");

    public static async Task<JsonElement> RunAsync(string script, params string[] args)
    {
        foreach (var package in new[] { "playwright-core", "hyparquet" })
            if (!File.Exists(Path.Combine(Folder, "node_modules", package, "package.json")))
                throw new InvalidOperationException($"{Path.Combine(Folder, "node_modules", package)} is missing: run scripts/install.sh (it runs 'npm ci' in {Folder})");
        if (script.Contains("page") && !File.Exists(Environment.GetEnvironmentVariable("SWEEP_CHROMIUM") ?? "/usr/bin/chromium"))
            throw new InvalidOperationException("/usr/bin/chromium is missing: run scripts/install.sh (it installs Debian's chromium package)");
        var start = new ProcessStartInfo("node") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Folder };
        start.ArgumentList.Add(Path.Combine(Folder, script));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        Process process;
        try { process = Process.Start(start)!; }
        catch (Win32Exception ex) { throw new InvalidOperationException($"'node' could not be started ({ex.Message}): install Node.js 20 or newer and run scripts/install.sh", ex); }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            if (process.ExitCode != 0) throw new InvalidOperationException($"node {script} exited with {process.ExitCode}: {(await stderr).Trim()}");
            return JsonDocument.Parse(await stdout).RootElement.Clone();
        }
    }
}
