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
