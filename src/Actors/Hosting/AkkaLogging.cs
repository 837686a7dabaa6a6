using Akka.Actor;
using Akka.Event;

namespace Sweep.Actors.Hosting;

/// <summary>
/// Where Akka's own log goes (remoting's "Disassociated" warnings when a node leaves, the stack traces of a lost
/// connection, supervision errors): nowhere by default, since Sweep says what matters to the user in its own one-line
/// messages; to stderr with <c>--verbose</c>; appended to a file with <c>--log-file FILE</c>. Set once per process,
/// before any actor system starts (<c>sweep</c>'s Program does it from the command line).
/// </summary>
public static class AkkaLogging
{
    private static bool _verbose;
    private static string? _file;

    public static void Configure(bool verbose, string? file)
    {
        _verbose = verbose;
        _file = file is null ? null : Path.GetFullPath(file);
    }

    /// <summary>The logging part of every actor system's HOCON (inside <c>akka { }</c>).</summary>
    public static string Hocon
    {
        get
        {
            // stdout-loglevel covers Akka's start and shutdown, before and after the loggers run: never on stdout.
            const string common = """
                stdout-loglevel = OFF
                log-dead-letters = off
                log-dead-letters-during-shutdown = off
                """;
            if (!_verbose && _file is null) return common + "\nloglevel = OFF\n";
            return common + $"""

                loglevel = INFO
                loggers = ["{typeof(AkkaLogSink).FullName}, {typeof(AkkaLogSink).Assembly.GetName().Name}"]
                sweep-log-file = "{(_file ?? "").Replace("\\", "\\\\").Replace("\"", "\\\"")}"

                """;
        }
    }
}

/// <summary>The Akka logger behind <see cref="AkkaLogging"/>: one line per event (and the cause's trace) to the log file, else stderr.</summary>
public sealed class AkkaLogSink : ReceiveActor
{
    private TextWriter _writer = Console.Error;

    public AkkaLogSink()
    {
        Receive<InitializeLogger>(_ =>
        {
            var file = Context.System.Settings.Config.GetString("akka.sweep-log-file", "");
            if (file.Length > 0)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                _writer = new StreamWriter(new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
            Sender.Tell(new LoggerInitialized());
        });
        Receive<LogEvent>(e => _writer.WriteLine(
            $"{e.Timestamp:yyyy-MM-dd HH:mm:ss.fff} {e.LogLevel().ToString().Replace("Level", "").ToUpperInvariant()} [{e.LogSource}] {e.Message}" +
            (e is Error { Cause: { } cause } ? Environment.NewLine + cause : "")));
    }

    protected override void PostStop()
    {
        if (_writer != Console.Error) _writer.Dispose();
    }
}
