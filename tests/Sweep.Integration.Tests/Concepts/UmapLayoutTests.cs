using Sweep.Cli.Reports;

namespace Sweep.Integration.Tests.Concepts;

/// <summary>The report's UMAP layouts (umap-js under node, tools/umap): seeded, reproducible, and faithful to clusters.</summary>
public sealed class UmapLayoutTests
{
    [Fact]
    public void A_seeded_layout_is_the_same_on_every_run_and_keeps_separated_clusters_apart()
    {
        Assert.True(UmapLayout.ToolDirectory() is not null, "tools/umap is not installed: run scripts/install.sh");
        var rng = new Random(4);
        // Three clusters of 30 points in 10-D, far apart relative to their spread.
        var points = Enumerable.Range(0, 90).Select(i => Enumerable.Range(0, 10)
            .Select(j => (j == i / 30 ? 10.0 : 0.0) + rng.NextDouble()).ToArray()).ToList();
        var (layout, skipped) = UmapLayout.Compute(points);
        Assert.Null(skipped);
        Assert.Equal(90, layout!.Length);
        var (again, _) = UmapLayout.Compute(points);
        Assert.Equal(layout.SelectMany(p => p), again!.SelectMany(p => p));
        Assert.NotEqual(layout.SelectMany(p => p), UmapLayout.Compute(points, seed: 1).Layout!.SelectMany(p => p));

        double Distance(int a, int b) => Math.Sqrt(Math.Pow(layout[a][0] - layout[b][0], 2) + Math.Pow(layout[a][1] - layout[b][1], 2));
        var pairs = from a in Enumerable.Range(0, 90) from b in Enumerable.Range(0, 90) where a < b select (a, b, Same: a / 30 == b / 30);
        double within = pairs.Where(p => p.Same).Max(p => Distance(p.a, p.b));
        double between = pairs.Where(p => !p.Same).Min(p => Distance(p.a, p.b));
        Assert.True(within < between, $"largest distance within a cluster {within}, smallest between clusters {between}");
    }

    [Fact]
    public void Too_few_points_are_skipped_with_the_reason()
    {
        var (layout, skipped) = UmapLayout.Compute([[0.0, 1], [1.0, 0]]);
        Assert.Null(layout);
        Assert.Equal("2 items, UMAP needs at least 5", skipped);
    }
}
