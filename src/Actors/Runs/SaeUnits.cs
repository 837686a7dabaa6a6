using Sweep.Actors.Execution;
using Sweep.Identity;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;

namespace Sweep.Actors.Runs;

/// <summary>
/// The SAE work of a job: one <c>train_sae</c> unit per SAE to train (after every capture of its model), and one
/// <c>sae_stats</c> unit per SAE output (after the captures that encode a published SAE, or after the training).
/// </summary>
public static class SaeUnits
{
    public static IReadOnlyList<WorkUnit> From(JobSpec spec, JobPlan plan)
    {
        var units = new List<WorkUnit>();
        List<string> CapturesOf(string model) => plan.Captures.Where(c => c.Model == model).Select(c => c.Key).ToList();

        foreach (var sae in spec.Saes)
        {
            var inputs = CapturesOf(sae.Model);
            var config = sae.Folder.Config;
            IEnumerable<string> outputs = config.Architecture == Models.Saes.SaeArchitecture.Temporal ? ["novel", "pred"] : ["codes"];
            foreach (var output in outputs)
                units.Add(new WorkUnit(Keys.PublishedSaeStats(sae.Name, output, sae.Path, inputs), WorkStage.SaeStats,
                    $"{sae.Name} {output} statistics", inputs, new SaeStatsUnit(sae.Name, sae.Model, sae.Site, output, config.DSae)));
        }
        foreach (var train in spec.TrainSaes)
        {
            var inputs = CapturesOf(train.Model);
            var trainKey = TrainKey(train, plan);
            units.Add(new WorkUnit(trainKey, WorkStage.TrainSae, $"train {train.Name} on {train.Model} {train.Site}", inputs, new TrainSaeUnit(train)));
            units.Add(new WorkUnit(Keys.TrainedSaeStats(train.Name, trainKey), WorkStage.SaeStats, $"{train.Name} codes statistics",
                [trainKey], new SaeStatsUnit(train.Name, train.Model, train.Site, "codes", train.Options.DSae)));
        }
        return units;
    }

    /// <summary>Key of the <c>train_sae</c> unit of <paramref name="train"/> (after every capture of its model).</summary>
    public static string TrainKey(TrainSaeSpec train, JobPlan plan) =>
        Keys.TrainSae(train.Name, train.Model, train.Site, JobLoader.TrainingKey(train.Options),
            plan.Captures.Where(c => c.Model == train.Model).Select(c => c.Key));

    /// <summary>
    /// Analysis units over a trained SAE's code site also wait for its training unit, which writes those codes;
    /// other units are returned as they are.
    /// </summary>
    public static IReadOnlyList<WorkUnit> WithTrainingDependencies(JobSpec spec, JobPlan plan, IReadOnlyList<WorkUnit> units) =>
        units.Select(u => u.Payload is AnalysisUnit a
                && new[] { a.A, a.B }.Select(s => SitePairing.FindSaeSite(spec, s)?.Trained).OfType<TrainSaeSpec>().Select(t => TrainKey(t, plan)).ToList() is { Count: > 0 } extra
            ? u with { DependsOn = [.. u.DependsOn, .. extra.Distinct()] }
            : u).ToList();
}
