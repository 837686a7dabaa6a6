using System.CommandLine;
using System.Text.Json;
using Sweep.Analysis.Measures;
using Sweep.Analysis.Similarity;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep compare A B --metrics svcca,rsa,cka</c>: compares two matrices with the same rows (items) — activations or
/// weight rows — by the measures a job's analyses use (the dense measures of <see cref="MeasureRegistry"/>, run in
/// memory on one block), and prints one JSON object. An undefined measure (a constant matrix) prints
/// <c>"value": null</c> with its <c>"undefined_reason"</c>.
/// </summary>
internal static class CompareCommand
{
    private static IReadOnlyList<Measure> Measures => MeasureRegistry.All.Where(m => m.Data == SiteData.Dense && m.Arity == Arity.Pair).ToList();

    public static Command Create()
    {
        var a = new Argument<FileInfo>("A") { Description = "First matrix: .npy (float32/float64, C order, items x units) or a Sweep .arrow shard" };
        var b = new Argument<FileInfo>("B") { Description = "Second matrix, same rows (items) as A" };
        var metrics = new Option<string>("--metrics") { Description = $"Comma-separated measures: {string.Join(", ", Measures.Select(m => m.Kind))}", DefaultValueFactory = _ => "cka,svcca,rsa" };
        var keep = new Option<double>("--keep-variance") { Description = "svcca: fraction of variance each side keeps", DefaultValueFactory = _ => Svcca.DefaultKeepVariance };
        var maxItems = new Option<int>("--max-items") { Description = "rsa, knn: seeded row sample size", DefaultValueFactory = _ => 1000 };
        var k = new Option<int>("--k") { Description = "knn: neighbours per item", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "rsa, knn: sample seed", DefaultValueFactory = _ => 0 };
        var inner = new Option<string>("--inner") { Description = "rsa: correlation | cosine | euclidean", DefaultValueFactory = _ => "correlation" };
        var outer = new Option<string>("--outer") { Description = "rsa: spearman | pearson | kendall", DefaultValueFactory = _ => "spearman" };
        var command = new Command("compare", "Compare two matrices (rows = the same items) with similarity measures; prints JSON")
        {
            a, b, metrics, keep, maxItems, k, seed, inner, outer,
        };
        command.SetAction((parse, ct) => Failures.ReportAsync(() =>
        {
            var measures = ParseMetrics(parse.GetValue(metrics)!);
            double keepVariance = parse.GetValue(keep);
            if (keepVariance is <= 0 or > 1) throw new ArgumentException($"--keep-variance is {keepVariance}, expected a number in (0, 1]");
            // Each option sets the parameter of the same name in every measure that has it.
            var settings = new Dictionary<string, object>
            {
                ["keep_variance"] = keepVariance, ["max_items"] = parse.GetValue(maxItems), ["k"] = parse.GetValue(k), ["seed"] = parse.GetValue(seed),
                ["inner"] = parse.GetValue(inner)!, ["outer"] = parse.GetValue(outer)!,
            };
            var x = MatrixInput.Read(parse.GetValue(a)!.FullName);
            var y = MatrixInput.Read(parse.GetValue(b)!.FullName);
            if (x.Rows != y.Rows) throw new ArgumentException($"{x.Path} has {x.Rows} rows and {y.Path} has {y.Rows}, expected the same items in both");
            Console.WriteLine(JsonSerializer.Serialize(Compare(x, y, measures, settings), new JsonSerializerOptions { WriteIndented = true }));
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Dictionary<string, object> Compare(MatrixInput x, MatrixInput y, IReadOnlyList<Measure> measures, IReadOnlyDictionary<string, object> settings)
    {
        var block = new MeasureBlock(TokenRows.FromItems(x.Ids), SiteRows.OfDense(x.Cols, x.Values), SiteRows.OfDense(y.Cols, y.Values));
        var results = new Dictionary<string, object>();
        foreach (var measure in measures)
        {
            var parameters = Parameters(measure, settings);
            foreach (var value in measure.Compute(parameters, new MeasureShape(x.Cols, y.Cols, SiteData.Dense), () => [block]).Values)
                results[value.Measure] = value.Value is { } number
                    ? new Dictionary<string, object?> { ["value"] = number, ["items"] = value.Count, ["params"] = value.Parameters }
                    : new Dictionary<string, object?> { ["value"] = null, ["undefined_reason"] = value.UndefinedReason, ["items"] = value.Count, ["params"] = value.Parameters };
        }
        return new Dictionary<string, object>
        {
            ["a"] = new { path = x.Path, rows = x.Rows, cols = x.Cols },
            ["b"] = new { path = y.Path, rows = y.Rows, cols = y.Cols },
            ["metrics"] = results,
        };
    }

    private static MeasureParameters Parameters(Measure measure, IReadOnlyDictionary<string, object> settings)
    {
        var parameters = measure.Defaults;
        foreach (var key in measure.Keys)
        {
            if (!settings.TryGetValue(key.Name, out var value)) continue;
            if (key.Type == ParameterType.Choice && !key.Choices.Contains((string)value))
                throw new ArgumentException($"--{key.Name} is '{value}', expected one of: {string.Join(", ", key.Choices)}");
            parameters = key.Set(parameters, value);
        }
        if (measure.Check(parameters) is { } problem) throw new ArgumentException($"--{problem.Key.Replace('_', '-')} {problem.Message}");
        return parameters;
    }

    private static List<Measure> ParseMetrics(string text)
    {
        var measures = new List<Measure>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            measures.Add(Measures.FirstOrDefault(m => m.Kind == name) ?? throw new ArgumentException(
                $"--metrics: unknown measure '{name}', expected some of: {string.Join(", ", Measures.Select(m => m.Kind))}"));
        if (measures.Count == 0) throw new ArgumentException("--metrics is empty, expected at least one measure");
        return measures.Distinct().ToList();
    }
}
