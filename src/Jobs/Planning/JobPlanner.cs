using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Jobs.Planning;

/// <summary>
/// Turns a validated job and its tokenized corpus into work units with deterministic keys: the same
/// weights, tokenizer, corpus and settings give the same keys on any machine, so finished units are reused.
/// </summary>
public static class JobPlanner
{
    public static JobPlan Plan(JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string> weightsDigestByModel)
    {
        string dtype = SpecNames.Of(spec.Execution.Dtype), shardDtype = SpecNames.Of(spec.Output.ShardDtype);
        var captures = new List<CaptureUnit>();
        foreach (var capture in spec.Captures)
        {
            if (!weightsDigestByModel.TryGetValue(capture.Model, out var weights))
                throw new ArgumentException($"no weights digest for model '{capture.Model}'", nameof(weightsDigestByModel));
            foreach (var shard in corpus.Shards)
                captures.Add(new CaptureUnit(
                    Keys.Capture(capture.Model, weights, capture.Sites, corpus.TokenizerDigest, shard.Digest, dtype, shardDtype),
                    capture.Model, shard.Index, capture.Sites));
        }

        var analyses = new List<AnalysisUnit>();
        foreach (var analysis in spec.Analyses)
        {
            string kind = analysis.Kind;
            foreach (var (a, b) in SitePairing.Pairs(spec, analysis))
            {
                var inputs = captures.Where(c => c.Model == a.Model || c.Model == b.Model).Select(c => c.Key);
                var canonical = analysis.Measure.Canonical(analysis.Parameters).Select(p => $"{p.Key}={p.Value}").ToList();
                // SAE sites: what identifies each SAE (capture keys do not name the SAEs that encode with them) joins the key.
                if (analysis.Sites == AnalysisSites.Sae)
                    canonical.AddRange([.. new[] { a, b }.Select(s => $"sae={SitePairing.FindSaeSite(spec, s)!.KeyText}"), "sites=sae"]);
                var parameters = string.Join(",", canonical);
                analyses.Add(new AnalysisUnit(AnalysisKey(analysis.Name, kind, a, b, inputs, parameters), analysis.Name, kind, a, b));
            }
        }
        return new JobPlan(captures, analyses);
    }

    /// <summary>
    /// Key of an analysis unit. The analysis name is part of it so two analyses of the same kind in one job
    /// never share a unit (each records its own rows). Parameters ("key=value,...") join the key only when
    /// the kind has any, so parameterless kinds keep the keys they had.
    /// </summary>
    public static string AnalysisKey(string analysis, string kind, SiteRef a, SiteRef b, IEnumerable<string> captureKeys, string parameters = "") =>
        parameters.Length == 0
            ? Hash("sweep.analysis", $"analysis={analysis}", $"kind={kind}", $"a={a.Model}/{a.Site}", $"b={b.Model}/{b.Site}",
                $"inputs={string.Join(",", captureKeys)}")
            : Hash("sweep.analysis", $"analysis={analysis}", $"kind={kind}", $"a={a.Model}/{a.Site}", $"b={b.Model}/{b.Site}",
                $"inputs={string.Join(",", captureKeys)}", $"params={parameters}");

    private static string Hash(params string[] fields) => Keys.Hash(fields);
}
