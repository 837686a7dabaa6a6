using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Sweep.Jobs.Spec;

/// <summary>Collects <see cref="JobError"/>s against YAML node positions while a job file is read.</summary>
internal sealed class ErrorSink(string file)
{
    public List<JobError> Errors { get; } = [];
    public string File => file;

    public void At(YamlNode node, string message) => At(node.Start, message);

    public void At(Mark mark, string message) =>
        Errors.Add(new JobError(file, Math.Max(1, (int)mark.Line), Math.Max(1, (int)mark.Column), message));

    /// <summary>A mapping with only <paramref name="keys"/> allowed, or null after reporting why not.</summary>
    public YamlSection? Mapping(YamlNode node, string path, params string[] keys)
    {
        if (node is YamlMappingNode map) return new YamlSection(this, map, path, keys);
        At(node, $"{(path.Length == 0 ? "the job" : path)} is {Describe(node)}, expected a mapping with keys: {string.Join(", ", keys)}");
        return null;
    }

    /// <summary>The items of a non-empty list, or null after reporting why not.</summary>
    public IReadOnlyList<YamlNode>? List(YamlNode node, string path, string expected)
    {
        if (node is YamlSequenceNode seq && seq.Children.Count > 0) return seq.Children.ToList();
        At(node, node is YamlSequenceNode
            ? $"{path} is an empty list, expected {expected}"
            : $"{path} is {Describe(node)}, expected a list of {expected}");
        return null;
    }

    public string? String(YamlNode node, string path, string expected)
    {
        if (node is YamlScalarNode s && !IsNull(s)) return s.Value!;
        At(node, $"{path} is {Describe(node)}, expected {expected}");
        return null;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s
        && s.Value is null or "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ when IsNull(node) => "empty",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an alias",
    };
}

/// <summary>One YAML mapping of the job file with its allowed keys; typed getters report errors and return null.</summary>
internal sealed class YamlSection
{
    private readonly ErrorSink _errors;
    private readonly Dictionary<string, YamlNode> _values = new();

    public YamlSection(ErrorSink errors, YamlMappingNode node, string path, IReadOnlyList<string> keys)
    {
        _errors = errors;
        Node = node;
        Path = path;
        foreach (var (keyNode, value) in node.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                errors.At(keyNode, $"{Prefix}key is {ErrorSink.Describe(keyNode)}, expected one of: {string.Join(", ", keys)}");
                continue;
            }
            if (keys.Contains(key)) { _values[key] = value; continue; }
            var hint = Suggest.Closest(key, keys) is { } close ? $"; did you mean '{close}'?" : "";
            errors.At(keyNode, $"unknown key '{Prefix}{key}', expected one of: {string.Join(", ", keys)}{hint}");
        }
    }

    public YamlMappingNode Node { get; }
    public string Path { get; }
    private string Prefix => Path.Length == 0 ? "" : Path + ".";
    public string KeyPath(string key) => Prefix + key;

    /// <summary>The value of <paramref name="key"/>; null when absent or written as null.</summary>
    public YamlNode? this[string key] => _values.TryGetValue(key, out var v) && !ErrorSink.IsNull(v) ? v : null;

    /// <summary>The value of a required key, or null after reporting it missing.</summary>
    public YamlNode? Required(string key, string expected)
    {
        if (this[key] is { } value) return value;
        if (_values.TryGetValue(key, out var empty)) _errors.At(empty, $"{KeyPath(key)} is empty, expected {expected}");
        else _errors.At(Node, $"missing key '{KeyPath(key)}', expected {expected}");
        return null;
    }

    public string? String(string key, string expected, bool required = false)
    {
        var node = required ? Required(key, expected) : this[key];
        return node is null ? null : _errors.String(node, KeyPath(key), expected);
    }

    /// <summary>An integer of at least <paramref name="min"/>; absent optional keys give null.</summary>
    public int? Int(string key, int min, string expected, bool required = false)
    {
        var node = required ? Required(key, expected) : this[key];
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } text } && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int value))
        {
            if (value >= min) return value;
            _errors.At(node, $"{KeyPath(key)} is {value}, expected {expected}");
            return null;
        }
        _errors.At(node, $"{KeyPath(key)} is {ErrorSink.Describe(node)}, expected {expected}");
        return null;
    }

    /// <summary>One of <paramref name="names"/>' keys (exact spelling); absent optional keys give null.</summary>
    public T? Choice<T>(string key, IReadOnlyDictionary<string, T> names, bool required = false) where T : struct
    {
        string expected = "one of: " + string.Join(", ", names.Keys);
        var node = required ? Required(key, expected) : this[key];
        if (node is null) return null;
        if (node is YamlScalarNode { Value: { } text } && names.TryGetValue(text, out var value)) return value;
        var hint = node is YamlScalarNode { Value: { } t } && Suggest.Closest(t, names.Keys) is { } close ? $"; did you mean '{close}'?" : "";
        _errors.At(node, $"{KeyPath(key)} is {ErrorSink.Describe(node)}, expected {expected}{hint}");
        return null;
    }
}

/// <summary>"Did you mean" for misspelt keys and names: the closest candidate within a few edits.</summary>
internal static class Suggest
{
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        int limit = Math.Max(2, word.Length / 3);
        return candidates
            .Select(c => (c, d: Distance(word.ToLowerInvariant(), c.ToLowerInvariant())))
            .Where(x => x.d <= limit)
            .OrderBy(x => x.d).ThenBy(x => x.c, StringComparer.Ordinal)
            .Select(x => x.c)
            .FirstOrDefault();
    }

    private static int Distance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++) prev[j] = j;
        for (int i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (int j = 1; j <= b.Length; j++)
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            (prev, cur) = (cur, prev);
        }
        return prev[b.Length];
    }
}
