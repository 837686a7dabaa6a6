using Sweep.Cli.Reports;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>The report's pieces without a database: escaping, site order, heatmap layout, training curves.</summary>
public sealed class ReportLayoutTests
{
    [Fact]
    public void Escape_turns_the_five_markup_characters_into_entities()
    {
        Assert.Equal("&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;", Html.Escape("<a href=\"x\">Tom & Jerry's</a>"));
        Assert.Equal("", Html.Escape(null));
        Assert.Equal("blocks.0.hook_resid_post/sae/é", Html.Escape("blocks.0.hook_resid_post/sae/é"));
    }

    [Fact]
    public void Text_from_the_database_never_reaches_the_page_as_markup()
    {
        var run = new RunRecord(7, "<script>alert(1)</script>", RunStatus.Failed, "bad <b>thing</b>", "name: \"a<b\" & 'c'",
            "digest", "/store", DateTimeOffset.UnixEpoch, null, null);
        var metric = new MetricRow("<i>an</i>", "m&m", "A", "<s>", "B", "t", 0.5, 10, """{"note": "<x>"}""");
        var figure = new ReportFigure("<i>an</i>", "training of <u>sae</u>", "training-<u>.png", [1, 2, 3]);
        var html = HtmlReport.Render(new ReportContent(run, [metric], [], []), [figure], DateTimeOffset.UnixEpoch);

        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<b>thing", html);
        Assert.DoesNotContain("<i>an", html);
        Assert.DoesNotContain("<s>", html);
        Assert.DoesNotContain("<x>", html);
        Assert.DoesNotContain("<u>", html);
        Assert.Contains("alt=\"training of &lt;u&gt;sae&lt;/u&gt;\"", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html);
        Assert.Contains("name: &quot;a&lt;b&quot; &amp; &#39;c&#39;", html);
        Assert.Contains("<td>m&amp;m</td>", html);
    }

    [Fact]
    public void Sites_sort_in_residual_stream_order_with_SAE_sites_after_their_hook()
    {
        string[] expected =
        [
            "hook_embed", "blocks.0.hook_resid_pre", "blocks.0.hook_attn_out", "blocks.0.hook_resid_mid", "blocks.0.hook_mlp_out",
            "blocks.0.hook_resid_post", "blocks.2.hook_resid_post", "blocks.2.hook_resid_post/sae/a", "blocks.2.hook_resid_post/sae/b",
            "blocks.10.hook_resid_pre", "ln_final.hook_normalized", "something_else",
        ];
        var shuffled = expected.Reverse().OrderBy(s => s.Length).ToList();
        Assert.Equal(expected, shuffled.Order(SiteOrder.Instance));
    }

    [Fact]
    public void A_heatmap_puts_each_value_at_its_sites_rows_for_model_A_and_columns_for_model_B()
    {
        MetricRow Cka(string a, string siteA, string b, string siteB, double value) => new("sweep", "cka_linear", a, siteA, b, siteB, value, 100);
        var heatmaps = Heatmap.From(
        [
            Cka("x", "blocks.10.hook_resid_post", "y", "blocks.1.hook_resid_post", 0.4),
            Cka("x", "blocks.2.hook_resid_post", "y", "blocks.0.hook_resid_post", 0.1),
            Cka("x", "blocks.10.hook_resid_post", "y", "blocks.0.hook_resid_post", 0.3),
            Cka("x", "blocks.2.hook_resid_post", "y", "blocks.1.hook_resid_post", 0.2),
            Cka("x", "blocks.2.hook_resid_post", "x", "blocks.10.hook_resid_post", 0.9),
            Cka("x", "blocks.2.hook_resid_post", "x", "blocks.3.hook_resid_post", 0.8),
            new("sweep", "svcca", "x", "blocks.2.hook_resid_post", "y", "blocks.0.hook_resid_post", 0.5, 100),   // one value: no figure
        ]);

        Assert.Equal(["x-vs-x", "x-vs-y"], heatmaps.Select(h => $"{h.ModelA}-vs-{h.ModelB}"));
        var across = heatmaps[1];
        Assert.Equal(["blocks.2.hook_resid_post", "blocks.10.hook_resid_post"], across.Rows);
        Assert.Equal(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], across.Columns);
        Assert.Equal(new[,] { { 0.1, 0.2 }, { 0.3, 0.4 } }, across.Values);
        Assert.Equal("sweep-cka_linear-x-vs-y.png", across.FileName);

        var within = heatmaps[0];   // a square over x's sites, symmetric, nothing on the diagonal
        Assert.Equal(["blocks.2.hook_resid_post", "blocks.3.hook_resid_post", "blocks.10.hook_resid_post"], within.Rows);
        Assert.Equal(within.Rows, within.Columns);
        Assert.Equal(0.8, within.Values[0, 1]);
        Assert.Equal(0.8, within.Values[1, 0]);
        Assert.Equal(0.9, within.Values[0, 2]);
        Assert.Equal(0.9, within.Values[2, 0]);
        Assert.True(double.IsNaN(within.Values[1, 1]) && double.IsNaN(within.Values[1, 2]));
    }

    [Fact]
    public void Training_curves_are_one_per_SAE_with_measures_in_a_fixed_order_and_points_by_step()
    {
        const string big = "blocks.10.hook_resid_post/sae/big", small = "blocks.2.hook_resid_post/sae/small";
        MetricRow Train(string sae, string model, string site, string measure, long step, double value) =>
            new(sae, "train_" + measure, model, site, null, null, value, 32, $$"""{"step": {{step}}, "learning_rate": 0.001, "tokens": {{32 * step}}}""");
        var curves = TrainingCurves.From(
        [
            Train("sae", "x", big, "l0", 20, 4), Train("sae", "x", big, "mse", 20, 0.5), Train("sae", "x", big, "mse", 10, 0.9),
            Train("sae", "x", small, "mse", 10, 0.8), Train("sae", "x", small, "mse", 30, 0.2), Train("sae", "x", small, "mse", 20, 0.4),
            Train("sae", "x", small, "mse", 20, 0.3),   // a step stored twice keeps its lowest value
            Train("sae", "x", small, "dead_features", 10, 7), Train("sae", "x", small, "dead_features", 30, 2),
            Train("sae", "x", small, "extra", 10, 1), Train("sae", "x", small, "extra", 30, 1),
            Train("sae", "x", small, "aux_loss", 10, 0), Train("sae", "x", small, "aux_loss", 30, 0.1),
            Train("other", "w", small, "mse", 10, 1), Train("other", "w", small, "mse", 20, 0.9),
            Train("once", "x", small, "mse", 10, 1),   // one step: no figure
            new("sae", "train_mse", "x", small, null, null, 0.25, 32, "{}"),   // no step: not a point
            new("sae", "sae_l0", "x", small, null, null, 4, 32, "{}"),   // not a training measure
            new("sae", "train_mse", "x", small, "y", small, 0.5, 32, """{"step": 40}"""),   // a pair metric
        ]);

        Assert.Equal([("other", "w", small), ("sae", "x", small), ("sae", "x", big)], curves.Select(c => (c.Sae, c.Model, c.Site)));
        var sae = curves[1];
        Assert.Equal(["train_mse", "train_aux_loss", "train_dead_features", "train_extra"], sae.Curves.Select(c => c.Measure));
        Assert.Equal([10L, 20, 30], sae.Curve("train_mse")!.Steps);
        Assert.Equal([0.8, 0.3, 0.2], sae.Curve("train_mse")!.Values);
        Assert.Equal([7.0, 2], sae.Curve("train_dead_features")!.Values);
        Assert.Null(sae.Curve("train_fve"));
        Assert.Equal(["train_mse", "train_l0"], curves[2].Curves.Select(c => c.Measure));
        Assert.Equal("training-sae-x-blocks.2.hook_resid_post_sae_small.png", sae.FileName);
        Assert.Equal("training of sae: x blocks.2.hook_resid_post/sae/small", sae.Title);
    }
}
