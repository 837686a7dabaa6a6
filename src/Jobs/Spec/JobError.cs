namespace Sweep.Jobs.Spec;

/// <summary>
/// One problem with a job's input, printed as <c>FILE:LINE:COL: message</c> (1-based; <c>FILE:LINE: message</c>
/// when only the line is known, <c>FILE: message</c> when neither is). FILE is the path as the user gave it.
/// </summary>
public sealed record JobError(string File, int Line, int Column, string Message)
{
    public override string ToString() =>
        Line <= 0 ? $"{File}: {Message}"
        : Column <= 0 ? $"{File}:{Line}: {Message}"
        : $"{File}:{Line}:{Column}: {Message}";
}

/// <summary>Every problem found in a job's input, reported together; the message is one line per error.</summary>
public sealed class JobValidationException(IReadOnlyList<JobError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<JobError> Errors { get; } = errors;
}
