using Sweep.Cli.Reports;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

/// <summary>The report's pieces without a database: escaping, site order, heatmap layout.</summary>
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
        var html = HtmlReport.Render(new ReportContent(run, [metric], [], []), [], DateTimeOffset.UnixEpoch);

        Assert.DoesNotContain("<script>", html);
        Assert.DoesNotContain("<b>thing", html);
        Assert.DoesNotContain("<i>an", html);
        Assert.DoesNotContain("<s>", html);
        Assert.DoesNotContain("<x>", html);
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
}
