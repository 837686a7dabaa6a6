using Sweep.Analysis.Concepts;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>
/// The planted-circle model: its seven day-token embedding rows lie on a circle in week order, and the PCA finds it —
/// from the exact rows, and from the model captured at <c>hook_embed</c> with the last-token reduction over a labelled
/// corpus (the path the job will take, minus the wiring).
/// </summary>
public sealed class PlantedCircleTests
{
    private const double StepTolerance = 0.15;   // radians around 2π/7 ≈ 0.898 for noise 0.02 on radius 1

    [Fact]
    public void The_PCA_of_the_day_tokens_exact_embedding_rows_finds_the_planted_circle_in_week_order()
    {
        using var circle = new PlantedCircle();
        var pca = Pca.Fit(circle.DayEmbeddingRows(), 2);

        Assert.True(pca.ExplainedVarianceRatio.Sum() >= 0.9, $"the first two components explain {pca.ExplainedVarianceRatio.Sum():F3}");
        var points = Enumerable.Range(0, 7).Select(k => (pca.Coordinate(k, 0), pca.Coordinate(k, 1))).ToList();
        Assert.True(PlantedCircle.InCyclicOrder(points, out var steps), $"angle steps {string.Join(", ", steps.Select(s => s.ToString("F3")))}");
        Assert.All(steps, s => Assert.InRange(Math.Abs(s), 2 * Math.PI / 7 - StepTolerance, 2 * Math.PI / 7 + StepTolerance));
        // The radius is the planted one.
        Assert.All(points, p => Assert.InRange(Math.Sqrt(p.Item1 * p.Item1 + p.Item2 * p.Item2), 0.9, 1.1));

        // The components span the planted plane: each loading lies in it (its projection onto the basis has norm ≈ 1).
        var basis = circle.Model.Basis;
        for (int c = 0; c < 2; c++)
        {
            var loading = pca.Loading(c);
            double a = 0, b = 0;
            for (int j = 0; j < loading.Length; j++) { a += loading[j] * basis[j * 2]; b += loading[j] * basis[j * 2 + 1]; }
            Assert.InRange(Math.Sqrt(a * a + b * b), 0.98, 1.0 + 1e-9);
        }
    }

    [Fact]
    public void Captured_at_hook_embed_with_the_last_token_reduction_the_day_means_lie_on_the_circle_in_week_order()
    {
        using var circle = new PlantedCircle(perDay: 5);
        var corpus = circle.LoadCorpus();
        Assert.True(corpus.Shards.Count > 1, "the corpus should span several shards");
        var stats = circle.Statistics(corpus, ["hook_embed"], new ReductionOptions(Reduction.Last))["hook_embed"];
        Assert.Equal(Enumerable.Repeat(5L, 8), stats.Counts);

        var result = ConceptPca.OfLabelMeans(stats, 2, PlantedCircleModel.Days);
        // hook_embed at the last token is the day's embedding row itself: the same PCA as of the exact rows.
        var exact = Pca.Fit(circle.DayEmbeddingRows(), 2);
        Assert.Equal(exact.ExplainedVarianceRatio[0], result.Pca.ExplainedVarianceRatio[0], 6);
        Assert.True(result.Pca.ExplainedVarianceRatio.Sum() >= 0.9);
        Assert.Equal(PlantedCircleModel.Days, result.Points.Select(p => p.Label));
        Assert.True(PlantedCircle.InCyclicOrder([.. result.Points.Select(p => (p.Coordinates[0], p.Coordinates[1]))], out _));
    }
}
