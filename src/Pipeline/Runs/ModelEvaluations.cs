using Sweep.Jobs.Spec;
using Sweep.Models.Demo;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// What the job's models are known to score on held-out text, copied into the run's <c>model_evaluations</c> rows when
/// the run is created, so a report shows it without reading model folders (which may have moved or changed since).
/// Today the source is the manifest Sweep's demo models carry (<c>sweep-demo.json</c>, <see cref="DemoModels.ReadEvaluation"/>):
/// each model's held-out loss and perplexity, its training, and the unigram baseline it was compared with (one
/// baseline row per distinct baseline). A model whose folder says nothing has no row.
/// </summary>
public static class ModelEvaluations
{
    public const string UnigramBaseline = "unigram";

    public static IReadOnlyList<ModelEvaluationRow> Read(JobSpec spec)
    {
        var rows = new List<ModelEvaluationRow>();
        var baselines = new List<(double Loss, string Dataset)>();
        foreach (var model in spec.Models)
        {
            if (DemoModels.ReadEvaluation(model.Path) is not { } e) continue;
            var m = e.Model;
            var shared = e.Shared;
            rows.Add(new ModelEvaluationRow(ModelEvaluationRow.ModelRole, model.Name, m.Description, DemoModels.EvaluationDataset,
                m.HeldOutLoss, m.HeldOutPerplexity, shared.HeldOutTargets, m.Parameters, m.Steps, m.TrainingTokens, e.Source));
            if (baselines.Contains((shared.UnigramLoss, DemoModels.EvaluationDataset))) continue;
            baselines.Add((shared.UnigramLoss, DemoModels.EvaluationDataset));
            // Models trained on other corpora bring other baselines: each after the first is named by its model.
            string name = baselines.Count == 1 ? UnigramBaseline : $"{UnigramBaseline} ({model.Name})";
            rows.Add(new ModelEvaluationRow(ModelEvaluationRow.BaselineRole, name,
                $"unigram model with add-one smoothing, estimated on the training split's {shared.TrainTokens:N0} tokens", DemoModels.EvaluationDataset,
                shared.UnigramLoss, shared.UnigramPerplexity, shared.HeldOutTargets, null, null, null, e.Source));
        }
        return rows;
    }

    public static Task RecordAsync(JobSpec spec, long runId, SweepDatabase database, CancellationToken ct) =>
        database.InsertModelEvaluationsAsync(runId, Read(spec), ct);
}
