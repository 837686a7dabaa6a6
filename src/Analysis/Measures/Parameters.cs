using System.Globalization;
using System.Text.Json;

namespace Sweep.Analysis.Measures;

/// <summary>A measure's settings, every default filled in: each measure has its own record deriving from this one.</summary>
public abstract record MeasureParameters;

/// <summary>A measure without settings.</summary>
public sealed record NoParameters : MeasureParameters
{
    public static readonly NoParameters Instance = new();
}

/// <summary>What a YAML value of a parameter must look like.</summary>
public enum ParameterType
{
    /// <summary>An integer of at least <see cref="ParameterKey.Min"/>.</summary>
    Integer,
    /// <summary>A number in [<see cref="ParameterKey.Min"/>, <see cref="ParameterKey.Max"/>], or (Min, Max] when <see cref="ParameterKey.MinExclusive"/>.</summary>
    Number,
    Boolean,
    /// <summary>One of <see cref="ParameterKey.Choices"/>.</summary>
    Choice,
    /// <summary>A list of strings (possibly empty).</summary>
    TextList,
    /// <summary>One string (not empty).</summary>
    Text,
}

/// <summary>A combination of parameters that is not allowed: the key to point at and what is wrong (after "KEY is ...").</summary>
public sealed record ParameterProblem(string Key, string Message);

/// <summary>
/// One YAML key of a measure's parameters: its type and bounds (the job loader reads and checks the value by them),
/// how it sets the parameter record, and its canonical text (for job digests, unit keys and stored params).
/// </summary>
public sealed class ParameterKey
{
    public required string Name { get; init; }
    public required ParameterType Type { get; init; }
    public double Min { get; init; }
    public double Max { get; init; }
    public bool MinExclusive { get; init; }
    public IReadOnlyList<string> Choices { get; init; } = [];
    /// <summary>What a valid value is, for errors: "an integer of at least 1", "a number in (0, 1]".</summary>
    public required string Expected { get; init; }

    internal Func<MeasureParameters, object, MeasureParameters> Setter { get; init; } = null!;
    internal Func<MeasureParameters, string> Canonicalizer { get; init; } = null!;

    /// <summary>
    /// <paramref name="parameters"/> with this key set to <paramref name="value"/>: an int (Integer), double (Number),
    /// bool (Boolean), string (Choice, one of <see cref="Choices"/>; Text) or IReadOnlyList&lt;string&gt; (TextList).
    /// </summary>
    public MeasureParameters Set(MeasureParameters parameters, object value) => Setter(parameters, value);

    public string CanonicalOf(MeasureParameters parameters) => Canonicalizer(parameters);
}

/// <summary>Builds the <see cref="ParameterKey"/>s of parameter record <typeparamref name="P"/>.</summary>
public static class ParameterKeys<P> where P : MeasureParameters
{
    public static ParameterKey Integer(string name, int min, string expected, Func<P, int> get, Func<P, int, P> set) => new()
    {
        Name = name, Type = ParameterType.Integer, Min = min, Expected = expected,
        Setter = (p, v) => set((P)p, (int)v), Canonicalizer = p => get((P)p).ToString(CultureInfo.InvariantCulture),
    };

    public static ParameterKey Number(string name, double min, double max, Func<P, double> get, Func<P, double, P> set) => new()
    {
        Name = name, Type = ParameterType.Number, Min = min, Max = max,
        Expected = $"a number in [{min.ToString(CultureInfo.InvariantCulture)}, {max.ToString(CultureInfo.InvariantCulture)}]",
        Setter = (p, v) => set((P)p, (double)v), Canonicalizer = p => get((P)p).ToString("R", CultureInfo.InvariantCulture),
    };

    /// <summary>A number in (0, 1].</summary>
    public static ParameterKey Fraction(string name, Func<P, double> get, Func<P, double, P> set) => new()
    {
        Name = name, Type = ParameterType.Number, Min = 0, Max = 1, MinExclusive = true, Expected = "a number in (0, 1]",
        Setter = (p, v) => set((P)p, (double)v), Canonicalizer = p => get((P)p).ToString("R", CultureInfo.InvariantCulture),
    };

    public static ParameterKey Boolean(string name, Func<P, bool> get, Func<P, bool, P> set) => new()
    {
        Name = name, Type = ParameterType.Boolean, Expected = "true or false",
        Setter = (p, v) => set((P)p, (bool)v), Canonicalizer = p => get((P)p) ? "true" : "false",
    };

    /// <summary>One of an enum's members, spelt in lower case.</summary>
    public static ParameterKey Choice<E>(string name, Func<P, E> get, Func<P, E, P> set) where E : struct, Enum
    {
        var choices = Enum.GetValues<E>().ToDictionary(v => v.ToString().ToLowerInvariant());
        return new()
        {
            Name = name, Type = ParameterType.Choice, Choices = choices.Keys.ToList(), Expected = "one of: " + string.Join(", ", choices.Keys),
            Setter = (p, v) => set((P)p, choices[(string)v]), Canonicalizer = p => get((P)p).ToString().ToLowerInvariant(),
        };
    }

    /// <summary>One of the given spellings, each standing for an enum member (for YAML words that are not member names, e.g. <c>label_means</c>).</summary>
    public static ParameterKey Choice<E>(string name, IReadOnlyList<(string Text, E Value)> spellings, Func<P, E> get, Func<P, E, P> set) where E : struct, Enum
    {
        var byText = spellings.ToDictionary(s => s.Text, s => s.Value);
        string TextOf(E value) => spellings.First(s => EqualityComparer<E>.Default.Equals(s.Value, value)).Text;
        return new()
        {
            Name = name, Type = ParameterType.Choice, Choices = byText.Keys.ToList(), Expected = "one of: " + string.Join(", ", byText.Keys),
            Setter = (p, v) => set((P)p, byText[(string)v]), Canonicalizer = p => TextOf(get((P)p)),
        };
    }

    /// <summary>One string; the canonical text is its JSON form (<c>null</c> when unset).</summary>
    public static ParameterKey Text(string name, string expected, Func<P, string?> get, Func<P, string, P> set) => new()
    {
        Name = name, Type = ParameterType.Text, Expected = expected,
        Setter = (p, v) => set((P)p, (string)v), Canonicalizer = p => JsonSerializer.Serialize(get((P)p)),
    };

    public static ParameterKey TextList(string name, string expected, Func<P, IReadOnlyList<string>> get, Func<P, IReadOnlyList<string>, P> set) => new()
    {
        Name = name, Type = ParameterType.TextList, Expected = expected,
        Setter = (p, v) => set((P)p, (IReadOnlyList<string>)v), Canonicalizer = p => JsonSerializer.Serialize(get((P)p)),
    };
}
