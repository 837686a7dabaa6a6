using Spectre.Console;

namespace Sweep.Cli.Rendering;

internal static class Terminal
{
    /// <summary>Progress bars only on a real terminal; logs and pipes get plain lines.</summary>
    public static bool IsInteractive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
