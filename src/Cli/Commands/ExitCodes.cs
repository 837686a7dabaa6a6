namespace Sweep.Cli.Commands;

public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>The run (or the command) failed; the reason was printed.</summary>
    public const int Failure = 1;
    /// <summary>The job file is invalid; every problem was printed as FILE:LINE:COL: message.</summary>
    public const int InvalidJob = 2;
}
