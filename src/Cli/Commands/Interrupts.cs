using System.Runtime.InteropServices;

namespace Sweep.Cli.Commands;

/// <summary>
/// SIGINT (Ctrl-C) and SIGTERM for every command. The first cancels the command's token and lets it stop cleanly: a
/// local run is marked interrupted with nothing left running, prints how to resume it, and lets go of the embedded
/// PostgreSQL, however long that takes. A second signal exits at once (a run then stays 'running' in the ledger, as
/// after SIGKILL, and <c>sweep status</c> says how to resume it).
/// </summary>
internal sealed class Interrupts : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration _interrupt, _terminate;
    private int _signals;

    private Interrupts()
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    }

    /// <summary>The interrupts of this process, once <see cref="Listen"/> was called.</summary>
    public static Interrupts? Current { get; private set; }

    public static Interrupts Listen() => Current = new Interrupts();

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => _stop.Token;

    /// <summary>The first signal received ("SIGINT", "SIGTERM"), or null.</summary>
    public string? Signal { get; private set; }

    /// <summary>The exit code a command stopped by <see cref="Signal"/> returns: 128 + the signal's number, as shells report it.</summary>
    public int ExitCode => Signal == "SIGTERM" ? 143 : 130;

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;   // the process stays up: the command stops itself
        var name = context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
        if (Interlocked.Increment(ref _signals) == 1)
        {
            Signal = name;
            Console.Error.WriteLine($"sweep: {name}: stopping cleanly (send it again to exit at once)");
            _stop.Cancel();
            return;
        }
        Console.Error.WriteLine($"sweep: {name} again: exiting at once");
        Environment.Exit(ExitCode);
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
        _stop.Dispose();
    }
}
