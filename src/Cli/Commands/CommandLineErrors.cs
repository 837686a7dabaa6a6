using System.CommandLine;

namespace Sweep.Cli.Commands;

/// <summary>Command-line mistakes (an unknown option, a value of the wrong type): one line each on stderr, exit code 1.</summary>
internal static class CommandLineErrors
{
    public static int Print(ParseResult parse)
    {
        var command = string.Join(' ', parse.CommandResult.Command.Parents.OfType<Command>().Reverse().Append(parse.CommandResult.Command)
            .Select(c => c.Name).Where(n => n.Length > 0));
        foreach (var error in parse.Errors)
            Console.Error.WriteLine($"sweep: {error.Message.ReplaceLineEndings(" ")} (see `{command} --help`)");
        return ExitCodes.Failure;
    }
}
