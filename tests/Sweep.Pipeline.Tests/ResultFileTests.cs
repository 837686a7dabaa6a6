using Sweep.Pipeline.Results;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Tests;

/// <summary>Result files: what a unit's rows look like between the worker that made them and the ledger that commits them.</summary>
public sealed class ResultFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-results-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static UnitOutput Output(int matches = 3000) => new(
        "shards/tiny-a", "c0ffee",
        [new ShardRow("key-0", "tiny-a", "blocks.0.hook_resid_post", 0, 512, 64, "float16", "/store/s0.arrow", "abc", 4096)],
        [
            new MetricRow("cka", "cka_linear", "tiny-a", "blocks.0.hook_resid_post", "tiny-b", "blocks.1.hook_resid_post", 0.8125, 512, """{"blocks": 3}"""),
            new MetricRow("sae", "sae_fve", "tiny-a", "blocks.0.hook_resid_post/sae/x", null, null, null, 0, "{}", UndefinedReason: "no variance over the run's tokens"),
            new MetricRow("cka", "cka_linear", "tiny-a", "a", "tiny-b", "b", double.PositiveInfinity, 9, "{}"),
            new MetricRow("train", "train_mse", "tiny-a", "blocks.0.hook_resid_post/sae/x", null, null, -1e-300, 32, "{\"step\": 1}"),
        ],
        Enumerable.Range(0, matches).Select(f => new FeatureMatchRow("corr", "tiny-a", "a/sae/x", "tiny-b", "b/sae/y", f % 2 == 0 ? "a_to_b" : "b_to_a",
            f, 1 + f % 3, f % 5 == 0 ? null : f * 7 % 1000, f % 5 == 0 ? 0 : Math.Sin(f), f % 3 == 0, f % 5 == 0)).ToList());

    [Fact]
    public void A_result_file_gives_back_every_row_exactly_and_its_report_counts_them()
    {
        var output = Output();
        var report = ResultFile.Write(Path.Combine(_dir, "u.1.rows"), output, reused: true);

        Assert.Equal((1, 4, 3000, true), (report.Shards, report.Metrics, report.FeatureMatches, report.Reused));
        Assert.Equal(new FileInfo(report.ResultFile).Length, report.Bytes);
        var read = ResultFile.Read(report.ResultFile, report.Checksum);
        Assert.Equal((output.OutputUri, output.Checksum), (read.OutputUri, read.Checksum));
        Assert.Equal(output.Shards, read.Shards);
        Assert.Equal(output.FeatureMatches, read.FeatureMatches);
        Assert.Equal(output.Metrics!.Count, read.Metrics!.Count);
        Assert.Equal(output.Metrics[0], read.Metrics[0]);
        Assert.Equal(output.Metrics[3], read.Metrics[3]);
        Assert.Equal((null, "no variance over the run's tokens"), (read.Metrics[1].Value, read.Metrics[1].UndefinedReason));
        // A non-finite value travels as undefined, with the reason the database would store.
        Assert.Equal((null, "the computation gave Infinity (numerically undefined)"), (read.Metrics[2].Value, read.Metrics[2].UndefinedReason));
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
    }

    [Fact]
    public void The_rows_of_a_features_analysis_travel_through_the_result_file_exactly()
    {
        const string a = "feats", m = "tiny-a", site = "blocks.0.hook_resid_pre/sae/x";
        var features = new FeatureResults(
            [new FeatureSiteRow(a, m, site, "x", 40, 512, "tiny/0-res", """{"top_k": 2}"""), new FeatureSiteRow(a, m, "blocks.1.hook_resid_post", null, 64, 512, null)],
            Enumerable.Range(0, 40).Select(f => new FeatureStatRow(a, m, site, f, 512, f * 3, f * 3 / 512.0, Math.Sin(f), f + 0.5, f == 0 ? null : Math.Cos(f),
                [(short)f, (short)(f + 1)], [f, 2L * f])).ToList(),
            [
                new TopExampleRow(a, m, site, 7, "top", null, 1, 3.5f, 12, 4, 99, " cat", 0, [1, 99, 5], ["<s>", " cat", "↵"], [0f, 3.5f, 0.25f]),
                new TopExampleRow(a, m, site, 7, "sample", 13, 2, 0.01f, 40, 0, 5, "⟨id 5⟩", 0, [5], ["⟨id 5⟩"], [0.01f]),
            ],
            [new FeatureCoactivationRow(a, m, site, 7, "jaccard", 1, 8, 0.5, 17), new FeatureCoactivationRow(a, m, site, 7, "correlation", 1, 8, -0.0, 17)],
            [new FeatureLogitRow(a, m, site, 7, "suppressed", 1, 42, "\"", -1.25)]);
        var output = new UnitOutput(Metrics: [new MetricRow(a, "features_dead", m, site, null, null, 3, 512, "{}")]) { Features = features };
        var report = ResultFile.Write(Path.Combine(_dir, "f.1.rows"), output, reused: false);

        var read = ResultFile.Read(report.ResultFile, report.Checksum);
        // Rows hold arrays (compared by reference in records): compare what they serialize to.
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(features), System.Text.Json.JsonSerializer.Serialize(read.Features));
        Assert.Equal(output.Metrics, read.Metrics);
        var plain = ResultFile.Write(Path.Combine(_dir, "g.1.rows"), Output(matches: 2), reused: false);
        Assert.Null(ResultFile.Read(plain.ResultFile, plain.Checksum).Features);
    }

    [Fact]
    public void A_damaged_result_file_or_one_with_another_checksum_is_refused()
    {
        var report = ResultFile.Write(Path.Combine(_dir, "u.1.rows"), Output(), reused: false);
        var other = ResultFile.Write(Path.Combine(_dir, "u.2.rows"), Output(matches: 10), reused: false);
        Assert.Contains("differs from the reported", Assert.Throws<InvalidDataException>(() => ResultFile.Read(report.ResultFile, other.Checksum)).Message);

        var bytes = File.ReadAllBytes(report.ResultFile);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(report.ResultFile, bytes);
        Assert.Contains("damaged", Assert.Throws<InvalidDataException>(() => ResultFile.Read(report.ResultFile, report.Checksum)).Message);
    }
}
