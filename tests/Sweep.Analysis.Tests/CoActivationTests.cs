using System.Text.Json;
using Sweep.Analysis.Features;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Tests;

/// <summary>Co-activation within one SAE, exact from the sparse cross sums, against numpy on the dense codes.</summary>
public sealed class CoActivationTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Co_activation_partners_equal_numpy_correlation_and_jaccard_whatever_the_tiles_and_shards(int tiles)
    {
        var corpus = FeatureCorpus.Generate(sequences: 60, width: 40, seed: 21);
        const int k = 4;
        var reference = PythonReference.Run("coactivation.py", DenseMatrix.FromFloats(corpus.Dense, corpus.Rows, corpus.Width),
            new DenseMatrix(1, 1, [0.0]), new { k });

        var partners = new List<CoActivationPartner>();
        for (int tile = 0; tile < tiles; tile++)
        {
            // Per shard partials merged in reverse order, as merge units would in any order.
            var parts = Enumerable.Range(0, corpus.Shards).Select(s => CoActivation.Of([corpus.Shard(s)], tile, tiles)).Reverse().ToList();
            partners.AddRange(parts.Aggregate((a, b) => a.Merge(b)).Finish(k));
        }
        foreach (var measure in new[] { CoActivationPartner.Correlation, CoActivationPartner.Jaccard })
        {
            var expected = reference.GetProperty(measure);
            for (int f = 0; f < corpus.Width; f++)
            {
                var mine = partners.Where(p => p.Feature == f && p.Measure == measure).OrderBy(p => p.Rank).ToList();
                var theirs = expected[f].EnumerateArray().ToList();
                Assert.Equal(theirs.Select(t => t[0].GetInt32()), mine.Select(p => p.Partner));
                for (int i = 0; i < mine.Count; i++)
                {
                    Assert.Equal(i + 1, mine[i].Rank);
                    Assert.Equal(theirs[i][1].GetDouble(), mine[i].Value, 10);
                    Assert.Equal(theirs[i][2].GetInt64(), mine[i].CoFirings);
                    Assert.NotEqual(f, mine[i].Partner);
                }
            }
        }
        Assert.Contains(partners, p => p.Measure == CoActivationPartner.Jaccard);
        Assert.Contains(partners, p => p.Measure == CoActivationPartner.Correlation && p.Rank == k);
    }

    [Fact]
    public void Co_activation_refuses_dense_sites_and_tiles_outside_the_SAE()
    {
        var corpus = FeatureCorpus.Generate(sequences: 4, width: 6, seed: 2);
        Assert.Throws<ArgumentException>(() => CoActivation.Of([corpus.DenseShard(0, 0f)]));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoActivation.Of([corpus.Shard(0)], 3, 3));
        var tile = CoActivation.Of([corpus.Shard(0)], 1, 4);
        Assert.Equal((2, 1, 5), (tile.Count, tile.FeatureOf(0), tile.FeatureOf(1)));   // features 1 and 5 of 6
    }
}
