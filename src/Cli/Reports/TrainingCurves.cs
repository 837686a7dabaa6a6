using System.Text.Json;
using Sweep.Actors.Execution;
using Sweep.Storage.Database;

namespace Sweep.Cli.Reports;

/// <summary>One training measure of one SAE: its values by step, steps ascending.</summary>
public sealed record TrainingCurve(string Measure, IReadOnlyList<long> Steps, IReadOnlyList<double> Values);

/// <summary>
/// The training curves of one trained SAE: the <c>train_*</c> rows that its <c>train_sae</c> unit stored under the SAE's
/// name as analysis, its model and its code site (<c>{hook}/sae/{name}</c>), one point per <c>params.step</c>.
/// Curves are in <see cref="MeasureOrder"/>, any other <c>train_*</c> measure after them by name.
/// </summary>
public sealed record TrainingCurves(string Sae, string Model, string Site, IReadOnlyList<TrainingCurve> Curves)
{
    /// <summary>The measures <see cref="TrainSaeExecutor"/> stores, in the order the figure and its legend show them.</summary>
    public static readonly IReadOnlyList<string> MeasureOrder =
        [.. new[] { "mse", "aux_loss", "fve", "l0", "dead_features" }.Select(m => TrainSaeExecutor.MetricPrefix + m)];

    public string Title => $"training of {Sae}: {Model} {Site}";

    /// <summary>A file name made of the SAE, model and site, e.g. <c>training-trained-tiny-a-blocks.3.hook_resid_post_sae_trained.png</c>.</summary>
    public string FileName => ReportFormat.FileName($"training-{Sae}-{Model}-{Site}") + ".png";

    /// <summary>The curve of a measure (e.g. <c>train_mse</c>), or null when the SAE stored none.</summary>
    public TrainingCurve? Curve(string measure) => Curves.FirstOrDefault(c => c.Measure == measure);

    /// <summary>
    /// The curves of a run's trained SAEs, by SAE name, model and site: single-site <c>train_*</c> rows with a
    /// <c>params.step</c>, grouped by (analysis, model, site). An SAE with fewer than two steps gets none (its table row
    /// says all). A step stored twice keeps its lowest value, whatever the row order.
    /// </summary>
    public static IReadOnlyList<TrainingCurves> From(IEnumerable<MetricRow> metrics) =>
        metrics.Where(m => m.ModelB is null && m.Measure.StartsWith(TrainSaeExecutor.MetricPrefix, StringComparison.Ordinal))
            .Select(m => (Metric: m, Step: Step(m.ParamsJson)))
            .Where(p => p.Step is not null && p.Metric.Stored.Value is not null)
            .GroupBy(p => (p.Metric.Analysis, p.Metric.ModelA, p.Metric.SiteA))
            .OrderBy(g => g.Key.Analysis, StringComparer.Ordinal).ThenBy(g => g.Key.ModelA, StringComparer.Ordinal)
            .ThenBy(g => g.Key.SiteA, SiteOrder.Instance)
            .Select(g => new TrainingCurves(g.Key.Analysis, g.Key.ModelA, g.Key.SiteA, g
                .GroupBy(p => p.Metric.Measure)
                .OrderBy(m => Rank(m.Key)).ThenBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => Curve(m.Key, m.Select(p => (Step: p.Step!.Value, Value: p.Metric.Value!.Value))))
                .ToList()))
            .Where(c => c.Curves.Max(curve => curve.Steps.Count) >= 2)
            .ToList();

    /// <summary>The <c>step</c> of a metric's parameters, or null when it has none (a measure that is not a curve).</summary>
    public static long? Step(string paramsJson)
    {
        using var json = JsonDocument.Parse(paramsJson);
        return json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("step", out var step) && step.TryGetInt64(out long s) ? s : null;
    }

    private static TrainingCurve Curve(string measure, IEnumerable<(long Step, double Value)> points)
    {
        var byStep = points.OrderBy(p => p.Step).ThenBy(p => p.Value).DistinctBy(p => p.Step).ToList();
        return new TrainingCurve(measure, byStep.Select(p => p.Step).ToList(), byStep.Select(p => p.Value).ToList());
    }

    private static int Rank(string measure)
    {
        int rank = MeasureOrder.ToList().IndexOf(measure);
        return rank < 0 ? MeasureOrder.Count : rank;
    }
}
