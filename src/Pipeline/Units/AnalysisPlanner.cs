using Sweep.Analysis.Measures;
using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;

namespace Sweep.Pipeline.Units;

/// <summary>
/// Plans each analysis target as map units over ranges of corpus shards, merge units that combine their partial
/// statistics pairwise in a balanced tree, and one finalize unit that merges the last two and writes the rows. When the
/// whole corpus is one range, the target is one unit that folds and finishes at once (no partial file). A map unit
/// waits only for the captures of its own shards, so reducers start while the workers still capture.
/// <para>
/// Range size (<see cref="ShardsPerUnit"/>): the job's <c>shards_per_unit</c>, or chosen from the data size so that a
/// map unit reads at least <see cref="TargetBytes"/> of activations and at least <see cref="PartialMultiple"/> times the
/// size of the partial it writes, with at most <see cref="MaxRanges"/> ranges per target.
/// </para>
/// </summary>
public static class AnalysisPlanner
{
    /// <summary>Activations (as float32) a map unit should read at least: below this a unit costs more in scheduling and files than it saves.</summary>
    public const long TargetBytes = 512L << 20;
    /// <summary>A range reads at least this many times its partial's size (else merging costs as much as folding).</summary>
    public const int PartialMultiple = 4;
    /// <summary>Ranges per target at most (bounds the partial files on disk and the merge tree's depth).</summary>
    public const int MaxRanges = 256;
    /// <summary>What one token of an SAE code site costs a measure, at most: its active codes (L0 is far below this for SAEs used in practice).</summary>
    public const int SparseCostPerToken = 128;

    /// <param name="tokenizer">The corpus tokenizer as measures see it (<see cref="Measure.ForCorpus"/>); none when null.</param>
    public static IReadOnlyList<WorkUnit> Plan(JobSpec spec, JobPlan plan, TokenizedCorpus corpus, AnalysisPair pair, IReadOnlyList<string> trainings,
        CorpusTokenizer? tokenizer = null)
    {
        var target = AnalysisTarget.Resolve(spec, pair, tokenizer);
        int shards = corpus.Shards.Count;
        int perUnit = ShardsPerUnit(target, corpus);
        var ranges = Enumerable.Range(0, (shards + perUnit - 1) / perUnit)
            .Select(i => new ShardRange(i * perUnit, Math.Min(perUnit, shards - i * perUnit))).ToList();
        var parameters = Parameters(spec, target, corpus);
        string Key(string role, IEnumerable<string> inputs) =>
            Keys.Analysis(target.Analysis.Name, target.Analysis.Kind, pair.A.ToString(), pair.B?.ToString(), parameters, role, inputs);
        List<string> CapturesOf(ShardRange range) =>
            [.. plan.Captures.Where(c => (c.Model == pair.A.Model || c.Model == pair.B?.Model) && c.ShardIndex >= range.First && c.ShardIndex <= range.Last)
                .Select(c => c.Key), .. trainings];

        if (ranges.Count == 1)
        {
            var inputs = CapturesOf(ranges[0]);
            return [new AnalysisFinalizeWork(Key("all", inputs), inputs, target, [], ranges[0])];
        }
        var units = new List<WorkUnit>();
        var level = new List<PartialInput>();
        foreach (var range in ranges)
        {
            var inputs = CapturesOf(range);
            var map = new AnalysisMapWork(Key($"map {range.First}-{range.Last}", inputs), inputs, target, range);
            units.Add(map);
            level.Add(new PartialInput(map.Key, range));
        }
        // Pairwise, an odd one carried up a level, until two partials are left for the finalize unit to merge.
        while (level.Count > 2)
        {
            var next = new List<PartialInput>();
            for (int i = 0; i < level.Count; i += 2)
            {
                if (i + 1 == level.Count) { next.Add(level[i]); break; }
                var covers = new ShardRange(level[i].Covers.First, level[i + 1].Covers.Last - level[i].Covers.First + 1);
                List<string> inputs = [level[i].UnitKey, level[i + 1].UnitKey];
                var merge = new AnalysisMergeWork(Key($"merge {covers.First}-{covers.Last}", inputs), inputs, target, [level[i], level[i + 1]], covers);
                units.Add(merge);
                next.Add(new PartialInput(merge.Key, covers));
            }
            level = next;
        }
        var last = level.Select(p => p.UnitKey).ToList();
        units.Add(new AnalysisFinalizeWork(Key("finalize", last), last, target, level, null));
        return units;
    }

    /// <summary>Corpus shards per map unit for <paramref name="target"/> (see the class summary).</summary>
    public static int ShardsPerUnit(AnalysisTarget target, TokenizedCorpus corpus)
    {
        int shards = Math.Max(1, corpus.Shards.Count);
        if (target.Analysis.ShardsPerUnit is { } asked) return Math.Clamp(asked, 1, shards);
        var shape = target.Shape;
        long costPerToken = Cost(shape.WidthA, shape.Data) + (shape.WidthB is { } b ? Cost(b, shape.Data) : 0);
        double bytesPerShard = Math.Max(1.0, (double)corpus.TokenCount / shards * costPerToken * sizeof(float));
        double wanted = Math.Max(TargetBytes, PartialMultiple * (double)target.Measure.PartialBytes(target.Parameters, shape));
        long perUnit = (long)Math.Ceiling(wanted / bytesPerShard);
        perUnit = Math.Max(perUnit, (shards + MaxRanges - 1) / MaxRanges);
        return (int)Math.Clamp(perUnit, 1, shards);
    }

    private static long Cost(int width, SiteData data) => data == SiteData.Sparse ? Math.Min(width, SparseCostPerToken) : width;

    /// <summary>
    /// The target's parameters as they join its unit keys: the measure's canonical parameters, for SAE sites what
    /// identifies each SAE (capture keys do not name the SAEs that encode with them), and for a measure that groups by
    /// label the labels' digest (capture keys cover the tokens only, so changed labels recompute the analysis, not the captures).
    /// </summary>
    private static string Parameters(JobSpec spec, AnalysisTarget target, TokenizedCorpus corpus)
    {
        var canonical = target.Measure.Canonical(target.Parameters).Select(p => $"{p.Key}={p.Value}").ToList();
        if (target.Analysis.Sites == AnalysisSites.Sae)
            canonical.AddRange([.. new[] { target.SaeA, target.SaeB }.OfType<SaeSite>().Select(s => $"sae={s.KeyText}"), "sites=sae"]);
        // Only at prompt level, so token-level keys stay as they were.
        if (target.Analysis.Level == AnalysisLevel.Prompt)
            canonical.AddRange([$"level={SpecNames.Of(target.Analysis.Level)}", $"reduce={SpecNames.Of(target.Analysis.Reduce)}"]);
        if (target.Measure.LabelField(target.Parameters) is not null)
            canonical.Add($"labels={corpus.Labels?.Digest ?? throw new InvalidOperationException($"{target}: the measure groups by label and the corpus has none")}");
        return string.Join(",", canonical);
    }
}
