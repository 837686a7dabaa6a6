using Sweep.Analysis.Measures;
using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Planning;

/// <summary>
/// Turns a validated job and its tokenized corpus into capture units with deterministic keys (the same weights,
/// tokenizer, corpus and settings give the same keys on any machine, so finished units are reused) and the site pairs
/// of every analysis (or, for a one-site measure, its sites).
/// </summary>
public static class JobPlanner
{
    public static JobPlan Plan(JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string> weightsDigestByModel) =>
        Plan(spec, CorpusTokenizations.Shared(corpus, spec.Models.Select(m => m.Name)), weightsDigestByModel);

    /// <summary>The plan of a job whose models may read different tokenizations: each model's captures key its own tokenizer and shards.</summary>
    public static JobPlan Plan(JobSpec spec, CorpusTokenizations tokenizations, IReadOnlyDictionary<string, string> weightsDigestByModel)
    {
        string dtype = SpecNames.Of(spec.Execution.Dtype), shardDtype = SpecNames.Of(spec.Output.ShardDtype);
        var captures = new List<CaptureUnit>();
        foreach (var capture in spec.Captures)
        {
            if (!weightsDigestByModel.TryGetValue(capture.Model, out var weights))
                throw new ArgumentException($"no weights digest for model '{capture.Model}'", nameof(weightsDigestByModel));
            var corpus = tokenizations.Of(capture.Model);
            foreach (var shard in corpus.Shards)
                captures.Add(new CaptureUnit(
                    Keys.Capture(capture.Model, weights, capture.Sites, corpus.TokenizerDigest, shard.Digest, dtype, shardDtype),
                    capture.Model, shard.Index, capture.Sites));
        }

        var analyses = spec.Analyses.SelectMany(analysis => analysis.Measure.Arity == Arity.Site
            ? SitePairing.Sites(spec, analysis).Select(s => new AnalysisPair(analysis.Name, analysis.Kind, s, null))
            : SitePairing.Pairs(spec, analysis).Select(p => new AnalysisPair(analysis.Name, analysis.Kind, p.A, p.B))).ToList();
        return new JobPlan(captures, analyses);
    }
}
