using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Sweep.Storage.Shards;
using Xunit.Abstractions;

namespace Sweep.Storage.Tests;

/// <summary>
/// Every shard carries a digest of each record batch and of its metadata (docs/shard-format.md, "Digests"): a byte of
/// data changed on disk is found by every reader of that batch, the catalog checksum comes from the footer alone, and a
/// file written without digests still reads but never verifies.
/// </summary>
public sealed class ShardDigestTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-digest-tests-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(XxHash128.Hash(bytes));

    private static byte[] Bytes<T>(ReadOnlySpan<T> values) where T : struct => MemoryMarshal.AsBytes(values).ToArray();

    /// <summary>The digests as docs/shard-format.md defines them, from the shard's own arrays (no Arrow involved).</summary>
    private static (string Metadata, List<string> Batches) ExpectedDigests(DenseShard shard, int batchRows)
    {
        var batches = new List<string>();
        int width = shard.Metadata.Width;
        for (int start = 0; start == 0 || start < shard.Rows; start += batchRows)
        {
            int n = Math.Min(batchRows, shard.Rows - start);
            batches.Add(Hex([
                .. Bytes<int>(shard.Seq.AsSpan(start, n)), .. Bytes<int>(shard.Pos.AsSpan(start, n)), .. Bytes<int>(shard.Token.AsSpan(start, n)),
                .. Bytes<float>(shard.Act.AsSpan(start * width, n * width)),
            ]));
        }
        var lines = shard.Metadata.ToDictionary().OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value}\n");
        return (Hex(Encoding.UTF8.GetBytes(string.Concat(lines))), batches);
    }

    /// <summary>The offset of the bytes of <paramref name="values"/> in <paramref name="file"/> (they occur once).</summary>
    private static int Find(byte[] file, ReadOnlySpan<float> values)
    {
        var pattern = MemoryMarshal.AsBytes(values);
        int at = file.AsSpan().IndexOf(pattern);
        Assert.True(at >= 0 && file.AsSpan(at + 1).IndexOf(pattern) < 0, "the values should occur exactly once in the file");
        return at;
    }

    [Fact]
    public void The_metadata_states_an_XXH3_128_of_every_batchs_values_and_of_the_metadata_and_the_checksum_is_their_SHA_256()
    {
        var shard = ShardTestData.Make(rows: 20_001, width: 5);
        var path = Path.Combine(_dir, "dense.arrow");

        var checksum = DenseShardFile.Write(path, shard, batchRows: 8192);

        var (metadata, batches) = ExpectedDigests(shard, 8192);
        Assert.Equal(3, batches.Count);
        using var stream = File.OpenRead(path);
        using var reader = new ArrowFileReader(stream);
        reader.ReadNextRecordBatch()?.Dispose();
        Assert.Equal(metadata, reader.Schema.Metadata[ShardDigests.KeyMetadataDigest]);
        Assert.Equal(string.Join(",", batches), reader.Schema.Metadata[ShardDigests.KeyBatchDigests]);
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(metadata + "\n" + string.Join(",", batches))));
        Assert.Equal(expected, checksum);
        Assert.Equal(expected, DenseShardFile.Checksum(path));
        Assert.Equal(expected, DenseShardFile.Verify(path));
        // The digest is xxHash's canonical XXH3-128, as python3-xxhash's xxh3_128_hexdigest prints it.
        Assert.Equal("99aa06d3014798d86001c324468d497f", Hex([]));
    }

    [Theory]
    [InlineData(ShardDtype.Float32)]
    [InlineData(ShardDtype.Float16)]
    [InlineData(ShardDtype.BFloat16)]
    public void A_byte_of_act_changed_on_disk_is_found_by_verify_and_by_read_naming_the_file_and_the_batch(string dtype)
    {
        int seed = Environment.TickCount;
        var random = new Random(seed);
        var shard = ShardTestData.Make(rows: 3000, width: 8) with { Metadata = ShardTestData.Metadata(8) with { Dtype = dtype } };
        // Random values, not the test data's sine: rounded to 16 bits its short runs of values recur, and the four
        // values located below must occur once in the file.
        for (int i = 0; i < shard.Act.Length; i++) shard.Act[i] = (float)(random.NextDouble() * 8 - 4);
        ShardDtype.Round(shard.Act, dtype);
        var path = Path.Combine(_dir, $"{dtype}.arrow");
        var checksum = DenseShardFile.Write(path, shard, batchRows: 1000);
        var bytes = File.ReadAllBytes(path);

        int row = 1000 + random.Next(1000);   // a row of the second batch
        int width = shard.Metadata.Width, size = dtype == ShardDtype.Float32 ? 4 : 2;
        // The stored bytes of four values of that row (16-bit dtypes: the encoded halves, found by their float32 widening).
        var stored = DenseShardFile.Read(path).Act.AsSpan(row * width, 4).ToArray();
        int at = dtype == ShardDtype.Float32 ? Find(bytes, stored) : FindEncoded(bytes, stored, dtype);
        int offset = at + random.Next(4 * size);
        output.WriteLine($"seed {seed}: row {row}, file byte {offset} of {bytes.Length}");
        bytes[offset] ^= (byte)(1 + random.Next(255));
        File.WriteAllBytes(path, bytes);

        var verify = Assert.Throws<ShardDamagedException>(() => DenseShardFile.Verify(path));
        Assert.Equal($"{path}: damaged: record batch 1 does not match its digest (the file changed after it was written)", verify.Message);
        var read = Assert.Throws<ShardDamagedException>(() => DenseShardFile.Read(path));
        Assert.Equal(verify.Message, read.Message);
        // The footer is intact: the cheap checksum still reads, so only reading the data finds the damage.
        Assert.Equal(checksum, DenseShardFile.Checksum(path));
    }

    private static int FindEncoded(byte[] file, float[] widened, string dtype)
    {
        var bits = widened.Select(v => dtype == ShardDtype.Float16 ? BitConverter.HalfToUInt16Bits((Half)v) : ShardDtype.ToBFloat16(v)).ToArray();
        var pattern = MemoryMarshal.AsBytes(bits.AsSpan());
        int at = file.AsSpan().IndexOf(pattern);
        Assert.True(at >= 0 && file.AsSpan(at + 1).IndexOf(pattern) < 0, "the values should occur exactly once in the file");
        return at;
    }

    [Fact]
    public void Changed_metadata_is_found_by_every_check_including_the_cheap_checksum()
    {
        var shard = ShardTestData.MakeSparse(rows: 400, dSae: 512, maxL0: 6) with { ReconstructionSse = 1234.5 };
        var path = Path.Combine(_dir, "sparse.arrow");
        SparseShardFile.Write(path, shard, batchRows: 128);
        var bytes = File.ReadAllBytes(path);
        // The reconstruction error (which SAE statistics read) is in the header's and the footer's schema: change both.
        var from = Encoding.UTF8.GetBytes("1234.5");
        var to = Encoding.UTF8.GetBytes("9234.5");
        int changed = 0;
        for (int at = 0; bytes.AsSpan(at).IndexOf(from) is var next and >= 0; at += next + 1, changed++)
            to.CopyTo(bytes, at + next);
        Assert.Equal(2, changed);
        File.WriteAllBytes(path, bytes);

        var expected = $"{path}: damaged: its sweep.* metadata does not match the digest written with it (the file changed after it was written)";
        Assert.Equal(expected, Assert.Throws<ShardDamagedException>(() => SparseShardFile.Checksum(path)).Message);
        Assert.Equal(expected, Assert.Throws<ShardDamagedException>(() => SparseShardFile.Verify(path)).Message);
        Assert.Equal(expected, Assert.Throws<ShardDamagedException>(() => SparseShardFile.Read(path)).Message);
    }

    [Fact]
    public void A_sparse_shard_whose_codes_changed_does_not_verify()
    {
        var shard = ShardTestData.MakeSparse(rows: 400, dSae: 512, maxL0: 6);
        var path = Path.Combine(_dir, "codes.arrow");
        var checksum = SparseShardFile.Write(path, shard, batchRows: 128);
        Assert.Equal(checksum, SparseShardFile.Verify(path));
        var bytes = File.ReadAllBytes(path);
        int row = Enumerable.Range(256, 128).First(r => shard.Offsets[r + 1] - shard.Offsets[r] >= 4);   // a row of batch 2 with 4+ codes
        int at = Find(bytes, shard.Values.AsSpan(shard.Offsets[row], shard.Offsets[row + 1] - shard.Offsets[row]));
        bytes[at] ^= 0x10;
        File.WriteAllBytes(path, bytes);

        Assert.Contains("record batch 2 does not match its digest", Assert.Throws<ShardDamagedException>(() => SparseShardFile.Verify(path)).Message);
        Assert.Contains("record batch 2 does not match its digest", Assert.Throws<ShardDamagedException>(() => SparseShardFile.Read(path)).Message);
    }

    [Fact]
    public void A_file_written_without_digests_reads_but_never_verifies()
    {
        var shard = ShardTestData.Make(rows: 10, width: 3);
        var path = Path.Combine(_dir, "old.arrow");
        // As an older Sweep wrote it: the same columns and sweep.* keys, no digests.
        var schema = DenseShardFile.CreateSchema(shard.Metadata);
        using (var stream = File.Create(path))
        using (var writer = new ArrowFileWriter(stream, schema))
        {
            var act = new FloatArray(new ArrowBuffer(Bytes<float>(shard.Act)), ArrowBuffer.Empty, shard.Act.Length, 0, 0);
            IArrowArray[] columns =
            [
                new Int32Array(new ArrowBuffer(Bytes<int>(shard.Seq)), ArrowBuffer.Empty, 10, 0, 0),
                new Int32Array(new ArrowBuffer(Bytes<int>(shard.Pos)), ArrowBuffer.Empty, 10, 0, 0),
                new Int32Array(new ArrowBuffer(Bytes<int>(shard.Token)), ArrowBuffer.Empty, 10, 0, 0),
                new FixedSizeListArray(schema.GetFieldByName("act").DataType, 10, act, ArrowBuffer.Empty, 0, 0),
            ];
            writer.WriteRecordBatch(new RecordBatch(schema, columns, 10));
            writer.WriteEnd();
        }

        Assert.Equal(shard.Seq, DenseShardFile.Read(path).Seq);
        var expected = $"{path}: carries no sweep.batch_digests to verify it against (written by an older Sweep or another tool)";
        Assert.Equal(expected, Assert.Throws<ShardFormatException>(() => DenseShardFile.Verify(path)).Message);
        Assert.Equal(expected, Assert.Throws<ShardFormatException>(() => DenseShardFile.Checksum(path)).Message);
    }
}
