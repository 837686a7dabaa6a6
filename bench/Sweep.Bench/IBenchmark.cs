namespace Sweep.Bench;

/// <summary>
/// One benchmark: measures its subject and a baseline side by side in the same process and run,
/// and prints ratios (never absolute goals checked by tests). Found by reflection; add a class to add one.
/// </summary>
public interface IBenchmark
{
    /// <summary>Short name used on the command line, e.g. "capture".</summary>
    string Name { get; }
    string Description { get; }
    void Run(BenchmarkOutput output);
}

/// <summary>Aligned "name: value" lines, so results read the same in a terminal and a log.</summary>
public sealed class BenchmarkOutput(TextWriter writer)
{
    public void Section(string title) => writer.WriteLine($"\n== {title}");
    public void Line(string label, string value) => writer.WriteLine($"  {label,-48} {value}");

    /// <summary>A measured figure, labelled with the highest one-minute load average seen during its runs.</summary>
    public void Line(string label, string value, Samples samples) => writer.WriteLine($"  {label,-48} {value}   (load {samples.MaxLoad:F1})");

    public void Note(string text) => writer.WriteLine($"  {text}");
}
