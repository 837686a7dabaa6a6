using System.CommandLine;
using System.Text.Json;
using Sweep.Analysis;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Similarity;

namespace Sweep.Cli.Commands;

/// <summary>
/// <c>sweep compare A B --metrics svcca,rsa,cka</c>: compares two matrices with the same rows (items) —
/// activations or weight rows — by the measures a job's analyses use, through the same
/// <see cref="PairMeasures"/> path, and prints one JSON object. An undefined measure (a constant matrix) prints
/// <c>"value": null</c> with its <c>"undefined_reason"</c>.
/// </summary>
internal static class CompareCommand
{
    public static Command Create()
    {
        var a = new Argument<FileInfo>("A") { Description = "First matrix: .npy (float32/float64, C order, items x units) or a Sweep .arrow shard" };
        var b = new Argument<FileInfo>("B") { Description = "Second matrix, same rows (items) as A" };
        var metrics = new Option<string>("--metrics") { Description = $"Comma-separated measures: {string.Join(", ", Enum.GetValues<MeasureKind>().Select(PairMeasures.Name))}", DefaultValueFactory = _ => "cka,svcca,rsa" };
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
            var kinds = ParseMetrics(parse.GetValue(metrics)!);
            var settings = new MeasureSettings
            {
                KeepVariance = parse.GetValue(keep),
                MaxItems = parse.GetValue(maxItems),
                K = parse.GetValue(k),
                Seed = parse.GetValue(seed),
                Inner = ParseChoice<InnerDissimilarity>("--inner", parse.GetValue(inner)!),
                Outer = ParseChoice<OuterCorrelation>("--outer", parse.GetValue(outer)!),
            };
            if (settings.KeepVariance is <= 0 or > 1) throw new ArgumentException($"--keep-variance is {settings.KeepVariance}, expected a number in (0, 1]");
            var x = MatrixInput.Read(parse.GetValue(a)!.FullName);
            var y = MatrixInput.Read(parse.GetValue(b)!.FullName);
            if (x.Rows != y.Rows) throw new ArgumentException($"{x.Path} has {x.Rows} rows and {y.Path} has {y.Rows}, expected the same items in both");
            Console.WriteLine(JsonSerializer.Serialize(Compare(x, y, kinds, settings), new JsonSerializerOptions { WriteIndented = true }));
            return Task.FromResult(ExitCodes.Success);
        }));
        return command;
    }

    private static Dictionary<string, object> Compare(MatrixInput x, MatrixInput y, IReadOnlyList<MeasureKind> kinds, MeasureSettings settings)
    {
        var block = new ItemBlock(x.Values, y.Values, x.Rows, x.Ids);
        var results = new Dictionary<string, object>();
        foreach (var kind in kinds)
            foreach (var value in PairMeasures.Compute(kind, settings, x.Cols, y.Cols, () => [block]).Values)
                results[value.Measure] = value.Value is { } number
                    ? new Dictionary<string, object?> { ["value"] = number, ["items"] = value.Count, ["params"] = value.Parameters }
                    : new Dictionary<string, object?> { ["value"] = null, ["undefined_reason"] = value.UndefinedReason, ["items"] = value.Count, ["params"] = value.Parameters };
        return new Dictionary<string, object>
        {
            ["a"] = new { path = x.Path, rows = x.Rows, cols = x.Cols },
            ["b"] = new { path = y.Path, rows = y.Rows, cols = y.Cols },
            ["metrics"] = results,
        };
    }

    private static List<MeasureKind> ParseMetrics(string text)
    {
        var kinds = new List<MeasureKind>();
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            kinds.Add(PairMeasures.Parse(name) ?? throw new ArgumentException(
                $"--metrics: unknown measure '{name}', expected some of: {string.Join(", ", Enum.GetValues<MeasureKind>().Select(PairMeasures.Name))}"));
        if (kinds.Count == 0) throw new ArgumentException("--metrics is empty, expected at least one measure");
        return kinds.Distinct().ToList();
    }

    private static T ParseChoice<T>(string option, string text) where T : struct, Enum =>
        Enum.GetValues<T>().FirstOrDefault(v => v.ToString().Equals(text, StringComparison.OrdinalIgnoreCase)) is var v
        && v.ToString().Equals(text, StringComparison.OrdinalIgnoreCase)
            ? v
            : throw new ArgumentException($"{option} is '{text}', expected one of: {string.Join(", ", Enum.GetValues<T>().Select(e => e.ToString().ToLowerInvariant()))}");
}
