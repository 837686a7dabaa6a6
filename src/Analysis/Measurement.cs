namespace Sweep.Analysis;

/// <summary>
/// What a measure gives: a finite number, or <em>undefined</em> with the reason (a constant side has no geometry to
/// compare, too little signal for an unbiased estimate). Never NaN or infinity: an undefined result is stored as
/// NULL with its reason (docs/analyses.md, "Non-finite inputs and undefined results").
/// </summary>
public readonly record struct Measurement
{
    private Measurement(double? value, string? undefinedReason)
    {
        Value = value;
        UndefinedReason = undefinedReason;
    }

    /// <summary>The number; null when undefined.</summary>
    public double? Value { get; }

    /// <summary>Why there is no number (one line); null when defined.</summary>
    public string? UndefinedReason { get; }

    public bool IsDefined => Value is not null;

    /// <summary>The number, for callers that cannot go on without one; an undefined result throws <see cref="UndefinedMeasureException"/> with its reason.</summary>
    public double Number => Value ?? throw new UndefinedMeasureException(UndefinedReason!);

    /// <summary>A number; a non-finite one (a numerical breakdown) becomes undefined, so no NaN ever passes as a result.</summary>
    public static Measurement Of(double value) =>
        double.IsFinite(value) ? new(value, null) : new(null, $"the computation gave {value} (numerically undefined)");

    public static Measurement Undefined(string reason) =>
        new(null, string.IsNullOrWhiteSpace(reason) ? throw new ArgumentException("an undefined result needs a reason", nameof(reason)) : reason);

    /// <summary>A plain number is a defined measurement (or undefined when it is not finite).</summary>
    public static implicit operator Measurement(double value) => Of(value);

    public override string ToString() => Value is { } v ? v.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : $"undefined ({UndefinedReason})";
}

/// <summary>A measure's result was needed as a number but is undefined; the message is the reason.</summary>
public sealed class UndefinedMeasureException(string reason) : Exception($"undefined: {reason}");
