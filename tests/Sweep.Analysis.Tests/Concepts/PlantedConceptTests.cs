using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>
/// Planted structure in SAE-like codes: each day label has five differential features (firing more often and more
/// strongly on its prompts than on any other) and one specialist (firing only on its prompts); every other
/// feature fires at the same rate for every label. The specialist fires on half of its label's prompts only, so its
/// effect size against the baseline is below the differential features' but far above the noise. Contrasts and selectivity must recover exactly what was planted.
/// </summary>
public sealed class PlantedConceptTests
{
    private static readonly string[] Days = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    private const int Width = 600, PromptsPerLabel = 40;

    private sealed record Planted(ActivationBlock Block, LabelIndex Labels, Dictionary<string, int[]> Differential, Dictionary<string, int> Specialist);

    private static Planted Generate(int seed)
    {
        var rng = new Random(seed);
        var features = Enumerable.Range(0, Width).OrderBy(_ => rng.Next()).ToArray();
        var names = Days.Append("neutral").ToArray();
        var differential = Days.Select((d, i) => (d, features.Skip(6 * i).Take(5).ToArray())).ToDictionary(x => x.d, x => x.Item2);
        var specialist = Days.Select((d, i) => (d, features[6 * i + 5])).ToDictionary(x => x.d, x => x.Item2);
        var seq = new List<int>(); var pos = new List<int>(); var tok = new List<int>();
        var offsets = new List<int> { 0 }; var indices = new List<int>(); var values = new List<float>();
        var labelOf = new List<int>();
        int s = 0;
        foreach (var (name, l) in names.Select((n, i) => (n, i)).OrderBy(_ => rng.Next()).SelectMany(x => Enumerable.Repeat(x, PromptsPerLabel)).OrderBy(_ => rng.Next()))
        {
            // One prompt = BOS + 3 tokens; only the last token's codes matter for the last-token reduction, but all are real rows.
            for (int p = 0; p < 4; p++)
            {
                var codes = new SortedDictionary<int, float>();
                foreach (int f in features.Skip(6 * Days.Length).Where(_ => rng.NextDouble() < 0.15)) codes[f] = (float)(0.2 + rng.NextDouble());
                if (p == 3 && name != "neutral")
                {
                    foreach (int f in differential[name]) if (rng.NextDouble() < 0.9) codes[f] = (float)(1.5 + rng.NextDouble());
                    if (rng.NextDouble() < 0.5) codes[specialist[name]] = (float)(0.5 + rng.NextDouble());
                }
                foreach (int f in differential.Values.SelectMany(x => x)) if (rng.NextDouble() < 0.1) codes[f] = (float)(0.2 + 0.5 * rng.NextDouble());
                foreach (var (f, v) in codes) { indices.Add(f); values.Add(v); }
                offsets.Add(indices.Count);
                seq.Add(s); pos.Add(p); tok.Add(p == 0 ? 1 : 2 + rng.Next(50));
            }
            labelOf.Add(l);
            s++;
        }
        var block = ActivationBlock.FromSparse([.. seq], [.. pos], [.. tok], new SparseRows(Width, [.. offsets], [.. indices], [.. values]));
        return new Planted(block, new LabelIndex(names, [.. labelOf]), differential, specialist);
    }

    [Fact]
    public void A_contrast_against_the_neutral_baseline_puts_exactly_the_planted_features_at_the_top()
    {
        var planted = Generate(seed: 3);
        var stats = LabelStatistics.FromBlock(planted.Block, planted.Labels, new ReductionOptions(Reduction.Last, BosId: 1));
        var result = Contrast.Finish(stats, new ContrastOptions("neutral", TopK: 6));   // the specialist ranks sixth
        Assert.Equal(Days, result.Labels.Select(s => s.Label));
        foreach (var day in Days)
        {
            var top = result.Top.Where(f => f.Label == day).OrderBy(f => f.Rank).ToList();
            Assert.Equal(6, top.Count);
            Assert.Equal(planted.Differential[day].Order(), top.Take(5).Select(f => f.Feature).Order());
            Assert.All(top.Take(5), f => Assert.True(f.Q < 1e-6 && f.CohensD > 2 && f.Against == "neutral", $"{day} feature {f.Feature}: q {f.Q}, d {f.CohensD}"));
            Assert.Equal(planted.Specialist[day], top[5].Feature);
            // Every feature is tested but those constant in both groups (never firing on either).
            Assert.Equal(Width, result.Labels.Single(s => s.Label == day).Tested + DeadIn(stats, day));
        }
    }

    [Fact]
    public void Against_all_other_labels_each_days_specialist_and_differential_features_lead()
    {
        var planted = Generate(seed: 4);
        var stats = LabelStatistics.FromBlock(planted.Block, planted.Labels, new ReductionOptions(Reduction.Last, BosId: 1));
        var result = Contrast.Finish(stats, new ContrastOptions(null, TopK: 6, RankBy: ContrastRanking.Difference));
        foreach (var day in Days)
            Assert.Equal(planted.Differential[day].Append(planted.Specialist[day]).Order(),
                result.Top.Where(f => f.Label == day).Select(f => f.Feature).Order());
        Assert.All(result.Top, f => Assert.Equal(Contrast.Rest, f.Against));
    }

    [Fact]
    public void Selectivity_names_each_days_specialist_first_with_index_one()
    {
        var planted = Generate(seed: 5);
        var stats = LabelStatistics.FromBlock(planted.Block, planted.Labels, new ReductionOptions(Reduction.Last, BosId: 1));
        var result = Selectivity.Finish(stats, new SelectivityOptions(SelectivityIndex.Ratio, TopK: 3, Exclude: ["neutral"]));
        Assert.Equal(Days, result.Labels);
        foreach (var day in Days)
        {
            var first = result.Specialists.First(f => f.PreferredLabel == day);
            Assert.Equal(planted.Specialist[day], first.Feature);
            Assert.Equal(1.0, first.Index);
            Assert.Equal(1, first.Rank);
        }
        Assert.Equal(3 * Days.Length, result.Specialists.Count);
    }

    [Fact]
    public void Features_rank_by_the_chosen_score_and_direction()
    {
        // Feature 0: a large but noisy difference (+10, sd ~8); feature 1: a small, clean one (+1, sd 0.1); feature 2: lower (−3, sd 1).
        float[][] x = [[10, 1.0f, -3], [0, 1.1f, -4], [20, 0.9f, -2], [2, 1.0f, -3]];
        float[][] b = [[0, 0.0f, 0], [1, 0.1f, 1], [-1, -0.1f, -1], [0, 0.0f, 0]];
        var rows = x.Concat(b).ToArray();
        var block = ActivationBlock.FromDense([.. Enumerable.Range(0, 8)], new int[8], new int[8], [.. rows.SelectMany(r => r)], 3);
        var stats = LabelStatistics.FromBlock(block, new LabelIndex(["x", "base"], [0, 0, 0, 0, 1, 1, 1, 1]), new ReductionOptions(Reduction.Last));
        int[] Top(ContrastRanking by, ContrastDirection direction) =>
            [.. Contrast.Finish(stats, new ContrastOptions("base", 3, by, direction)).Top.Select(f => f.Feature)];
        Assert.Equal([1, 0], Top(ContrastRanking.CohensD, ContrastDirection.Higher));
        Assert.Equal([0, 1], Top(ContrastRanking.Difference, ContrastDirection.Higher));
        Assert.Equal([2], Top(ContrastRanking.CohensD, ContrastDirection.Lower));
        Assert.Equal([1, 2, 0], Top(ContrastRanking.CohensD, ContrastDirection.Both));
        Assert.Equal([0, 2, 1], Top(ContrastRanking.Difference, ContrastDirection.Both));
        Assert.Throws<ArgumentException>(() => Contrast.Finish(stats, new ContrastOptions("friday")));
    }

    private static int DeadIn(LabelStatistics stats, string day)
    {
        int l = stats.Labels.ToList().IndexOf(day), neutral = stats.Labels.Count - 1, dead = 0;
        for (int j = 0; j < stats.Width; j++)
            if (stats.Variance(l, j) == 0 && stats.Variance(neutral, j) == 0) dead++;
        return dead;
    }
}
