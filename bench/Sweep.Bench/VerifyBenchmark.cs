using System.Security.Cryptography;
using Sweep.Storage.Shards;

namespace Sweep.Bench;

/// <summary>
/// What checking a stored shard costs (docs/operations.md, "What Sweep checks"): the same dense shards, from the page
/// cache, read four ways, each interleaved with the yardstick GEMM: their bytes alone into a reused buffer (a dd-like
/// read, the floor for anything that looks at every byte), <c>DenseShardFile.Verify</c> (every record batch checked
/// against its XXH3-128 digest without decoding: a cache hit's check), <c>DenseShardFile.Read</c> (decode to float32
/// and check: what an analysis does anyway), and SHA-256 over the whole file (the checksum Sweep computed before shards
/// carried digests). The footer-only checksum a resume uses for shards no unfinished unit needs is timed too. Each run
/// goes over the files <see cref="Passes"/> times, so that it lasts long beside the timer. Goal: verify at most half
/// the cost of SHA-256 over the same files (the plain read from the page cache is a memory copy: the floor, not a goal).
/// </summary>
public sealed class VerifyBenchmark : IBenchmark
{
    public string Name => "verify";
    public string Description => "checking stored shards: digest verification vs a plain read of the same files, and vs SHA-256";

    private const int Shards = 8, Rows = 4096, Width = 768, Passes = 4;

    public void Run(BenchmarkOutput output)
    {
        var folder = Directory.CreateTempSubdirectory("sweep-bench-verify-").FullName;
        try
        {
            var paths = Enumerable.Range(0, Shards).Select(i => Write(folder, i)).ToList();
            long bytes = paths.Sum(p => new FileInfo(p).Length);
            output.Line("shards", $"{Shards} dense float32 shards of {Rows} x {Width}, {bytes / 1e6:F0} MB, from the page cache, {Passes} passes a run");
            bytes *= Passes;
            var buffer = new byte[1 << 20];
            using var yardstick = new Yardstick();

            // Warm-up: every file once through each path, so the page cache and the JIT are the same for all.
            foreach (var p in paths) { ReadBytes(p, buffer); DenseShardFile.Verify(p); DenseShardFile.Read(p); Sha256(p); }

            const int runs = 7;
            Samples read = new(), verify = new(), decode = new(), sha = new(), footer = new();
            void Each(Action<string> subject) { for (int pass = 0; pass < Passes; pass++) foreach (var p in paths) subject(p); }
            for (int run = 0; run < runs; run++)
            {
                read.Add(yardstick.Time(() => Each(p => ReadBytes(p, buffer))));
                verify.Add(yardstick.Time(() => Each(p => DenseShardFile.Verify(p))));
                decode.Add(yardstick.Time(() => Each(p => DenseShardFile.Read(p))));
                sha.Add(yardstick.Time(() => Each(Sha256)));
                footer.Add(yardstick.Time(() => Each(p => DenseShardFile.Checksum(p))));
            }
            output.Line("plain read (bytes only)", $"{read.GemmEquivalents.Format(unit: " GEMMs")} ({Rate(bytes, read)})", read);
            output.Line("Verify (every batch against its digest)", $"{verify.GemmEquivalents.Format(unit: " GEMMs")} ({Rate(bytes, verify)})", verify);
            output.Line("Read (decode to float32 + digests)", $"{decode.GemmEquivalents.Format(unit: " GEMMs")} ({Rate(bytes, decode)})", decode);
            output.Line("SHA-256 of the whole file", $"{sha.GemmEquivalents.Format(unit: " GEMMs")} ({Rate(bytes, sha)})", sha);
            output.Line("footer-only checksum", $"{footer.GemmEquivalents.Format(unit: " GEMMs")}", footer);
            output.Line("Verify / SHA-256 of the whole file (goal <= 0.5)", Ratio(verify, sha));
            output.Line("Verify / plain read", Ratio(verify, read));
            output.Line("SHA-256 / plain read", Ratio(sha, read));
            output.Line("Read with digests / plain read", Ratio(decode, read));
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>Seeded random activations, written as a run would (one file per corpus shard).</summary>
    private static string Write(string folder, int index)
    {
        var random = new Random(17 + index);
        var act = new float[Rows * Width];
        for (int i = 0; i < act.Length; i++) act[i] = (float)(random.NextDouble() * 4 - 2);
        var rows = Enumerable.Range(0, Rows).ToArray();
        var metadata = new ShardMetadata
        {
            Model = "bench", Site = "blocks.0.hook_resid_post", Width = Width, WeightsDigest = "w", TokenizerDigest = "t",
            CorpusShardDigest = $"c{index}", ShardIndex = index,
        };
        var path = Path.Combine(folder, $"shard-{index:00000}.arrow");
        DenseShardFile.Write(path, new DenseShard(metadata, Rows, rows.Select(r => r / 128).ToArray(), rows.Select(r => r % 128).ToArray(), new int[Rows], act));
        return path;
    }

    private static void ReadBytes(string path, byte[] buffer)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1);
        while (stream.Read(buffer) > 0) { }
    }

    private static void Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        SHA256.HashData(stream);
    }

    private static string Rate(long bytes, Samples samples) => $"{bytes / samples.Seconds.Median / 1e9:F2} GB/s";

    /// <summary>The ratio of two subjects' medians (in GEMMs), with the widest range their two ranges allow.</summary>
    private static string Ratio(Samples subject, Samples baseline)
    {
        var (s, b) = (subject.GemmEquivalents, baseline.GemmEquivalents);
        return $"{s.Median / b.Median:F2} [{s.Min / b.Max:F2}–{s.Max / b.Min:F2}]";
    }
}
