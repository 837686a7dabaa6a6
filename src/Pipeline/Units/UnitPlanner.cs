using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Analysis.Measures;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;

namespace Sweep.Pipeline.Units;

/// <summary>
/// Turns a job's plan into schedulable units: captures first (model-major, so a worker keeps one model loaded across
/// consecutive shards); one <c>train_sae</c> unit per SAE to train (after every capture of its model) and one
/// <c>sae_stats</c> unit per SAE output (after the captures that encode a published SAE, or after the training);
/// each analysis as map, merge and finalize units (<see cref="AnalysisPlanner"/>) after the captures (and SAE trainings) they read.
/// </summary>
public static class UnitPlanner
{
    public static IReadOnlyList<WorkUnit> Plan(JobSpec spec, JobPlan plan, TokenizedCorpus corpus)
    {
        var units = new List<WorkUnit>();
        units.AddRange(plan.Captures
            .OrderBy(c => c.Model, StringComparer.Ordinal).ThenBy(c => c.ShardIndex)
            .Select(c => new CaptureWork(c)));
        // Only analyses read the corpus tokenizer (a job that captures or trains alone need not name a model that has one).
        var tokenizer = plan.Analyses.Count == 0 ? CorpusTokenizer.None : CorpusTokenizerOf(spec, corpus);
        foreach (var pair in plan.Analyses) units.AddRange(AnalysisPlanner.Plan(spec, plan, corpus, pair, TrainingsRead(spec, plan, pair).ToList(), tokenizer));
        units.AddRange(SaeUnits(spec, plan));
        return units;
    }

    /// <summary>
    /// The corpus tokenizer as measures see it: the BOS id the corpus's sequences start with, and encoding without BOS
    /// (the tokenizer is loaded only when a measure encodes a text; none when the tokenizer model has no tokenizer files).
    /// </summary>
    public static CorpusTokenizer CorpusTokenizerOf(JobSpec spec, TokenizedCorpus corpus)
    {
        var path = spec.TokenizerModel.Path;
        if (!TokenizerLoader.HasTokenizer(path)) return new CorpusTokenizer(corpus.BosId, null);
        var tokenizer = new Lazy<ITextTokenizer>(() => TokenizerLoader.Load(path));
        return new CorpusTokenizer(corpus.BosId, text => tokenizer.Value.Encode(text, addBos: false));
    }

    private static IEnumerable<WorkUnit> SaeUnits(JobSpec spec, JobPlan plan)
    {
        List<string> CapturesOf(string model) => plan.Captures.Where(c => c.Model == model).Select(c => c.Key).ToList();
        foreach (var sae in spec.Saes)
        {
            var inputs = CapturesOf(sae.Model);
            var config = sae.Folder.Config;
            IEnumerable<string> outputs = config.Architecture == SaeArchitecture.Temporal ? ["novel", "pred"] : ["codes"];
            foreach (var output in outputs)
                yield return new SaeStatsWork(Keys.PublishedSaeStats(sae.Name, output, sae.Path, inputs), inputs, sae.Name, sae.Model, sae.Site, output, config.DSae);
        }
        foreach (var train in spec.TrainSaes)
        {
            var trainKey = TrainKey(train, plan);
            yield return new TrainSaeWork(trainKey, CapturesOf(train.Model), train);
            yield return new SaeStatsWork(Keys.TrainedSaeStats(train.Name, trainKey), [trainKey], train.Name, train.Model, train.Site, "codes", train.Options.DSae);
        }
    }

    /// <summary>Key of the <c>train_sae</c> unit of <paramref name="train"/> (after every capture of its model).</summary>
    public static string TrainKey(TrainSaeSpec train, JobPlan plan) =>
        Keys.TrainSae(train.Name, train.Model, train.Site, JobLoader.TrainingKey(train.Options),
            plan.Captures.Where(c => c.Model == train.Model).Select(c => c.Key));

    /// <summary>An analysis over a trained SAE's code site also waits for its training unit, which writes those codes.</summary>
    private static IEnumerable<string> TrainingsRead(JobSpec spec, JobPlan plan, AnalysisPair analysis) =>
        new[] { analysis.A, analysis.B }.OfType<SiteRef>().Select(s => SitePairing.FindSaeSite(spec, s)?.Trained).OfType<TrainSaeSpec>()
            .Select(t => TrainKey(t, plan)).Distinct();
}
