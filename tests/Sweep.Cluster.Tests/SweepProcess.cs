using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Sweep.Cluster.Tests;

/// <summary>
/// A running `sweep` process (the built CLI beside the tests): its output lines as they come, waits on
/// a line or on exit, and SIGKILL. Disposing kills it if it still runs.
/// </summary>
public sealed class SweepProcess : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);
    private readonly Process _process;
    private readonly List<string> _lines = new();
    private readonly object _gate = new();
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _readersDone;

    public int Pid => _process.Id;
    public string Name { get; }

    private SweepProcess(Process process, string name)
    {
        _process = process; Name = name;
    }

    public static SweepProcess Start(string workingDirectory, string name, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "sweep.dll"));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        foreach (var variable in new[] { "SWEEP_DB", "SWEEP_CLUSTER_SECRET", "SWEEP_FAULT_UNIT_DELAY_MS" }) start.Environment.Remove(variable);
        start.Environment["SWEEP_HOME"] = Path.Combine(workingDirectory, ".sweep-" + name);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var sweep = new SweepProcess(process, name);
        process.OutputDataReceived += (_, e) => sweep.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => sweep.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return sweep;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Increment(ref _readersDone) == 2) _exited.TrySetResult();
            return;
        }
        lock (_gate) _lines.Add(line);
    }

    public string Output
    {
        get { lock (_gate) return string.Join("\n", _lines); }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits for an output line containing <paramref name="fragment"/>; fails with the output so far if the process exits first.</summary>
    public async Task WaitForLineAsync(string fragment, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (true)
        {
            lock (_gate) if (_lines.Any(l => l.Contains(fragment, StringComparison.Ordinal))) return;
            if (_exited.Task.IsCompleted) throw new Xunit.Sdk.XunitException($"{Name} exited before printing '{fragment}':\n{Output}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Name} did not print '{fragment}':\n{Output}");
            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Patience);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException($"{Name} did not exit:\n{Output}"); }
        await _exited.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no shutdown hooks, no goodbye to the cluster.</summary>
    public void Kill()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
