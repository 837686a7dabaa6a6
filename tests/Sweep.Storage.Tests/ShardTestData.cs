using System.Runtime.InteropServices;
using Sweep.Storage.Shards;
using Xunit;

namespace Sweep.Storage.Tests;

internal static class ShardTestData
{
    public static ShardMetadata Metadata(int width, string site = "blocks.0.hook_resid_post", int shardIndex = 3) => new()
    {
        Model = "tiny-a",
        Site = site,
        Width = width,
        WeightsDigest = "sha256:weights",
        TokenizerDigest = "sha256:tokenizer",
        CorpusShardDigest = "sha256:corpus-3",
        ShardIndex = shardIndex,
    };

    /// <summary>Rows ordered by (seq, pos), sequences of <paramref name="seqLength"/> tokens; activations include awkward floats.</summary>
    public static DenseShard Make(int rows, int width, int seqLength = 7, int firstSeq = 40)
    {
        var seq = new int[rows];
        var pos = new int[rows];
        var token = new int[rows];
        var act = new float[rows * width];
        for (var i = 0; i < rows; i++)
        {
            seq[i] = firstSeq + i / seqLength;
            pos[i] = i % seqLength;
            token[i] = (i * 7919) % 50257;
        }
        for (var j = 0; j < act.Length; j++) act[j] = (float)Math.Sin(j * 0.37) * (1 + j % 13);
        float[] awkward = [float.NaN, -0f, float.Epsilon, float.MaxValue, float.NegativeInfinity, 1e-40f, 0.1f];
        for (var k = 0; k < awkward.Length && k < act.Length; k++) act[act.Length - 1 - k] = awkward[k];
        return new DenseShard(Metadata(width), rows, seq, pos, token, act);
    }

    public static ShardMetadata SparseMetadata(int dSae) => Metadata(dSae, site: SaeIdentity.SiteOf("blocks.0.hook_resid_post", "res-sae")) with
    {
        Kind = ShardMetadata.KindSparse,
        Sae = new SaeIdentity("res-sae", "sha256:sae", "blocks.0.hook_resid_post", "codes", "topk", "gpt2-small/0-res-jb"),
    };

    /// <summary>Seeded random SAE codes: 0..maxL0 sorted distinct features per row, some rows empty.</summary>
    public static SparseShard MakeSparse(int rows, int dSae, int maxL0, int seed = 7)
    {
        var random = new Random(seed);
        var (seq, pos, token) = (new int[rows], new int[rows], new int[rows]);
        var offsets = new int[rows + 1];
        var indices = new List<int>();
        var values = new List<float>();
        for (int r = 0; r < rows; r++)
        {
            seq[r] = 10 + r / 9; pos[r] = r % 9; token[r] = random.Next(500);
            var features = Enumerable.Range(0, random.Next(maxL0 + 1)).Select(_ => random.Next(dSae)).Distinct().Order().ToList();
            indices.AddRange(features);
            values.AddRange(features.Select(_ => (float)random.NextDouble() * 5));
            offsets[r + 1] = indices.Count;
        }
        return new SparseShard(SparseMetadata(dSae), rows, seq, pos, token, offsets, indices.ToArray(), values.ToArray());
    }

    public static bool BitwiseEqual(float[] a, float[] b) =>
        MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));

    /// <summary>Bit for bit (so -0 is not 0), except that any NaN matches any NaN; names the first value that differs.</summary>
    public static void AssertSameValues(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = float.IsNaN(expected[i]) ? float.IsNaN(actual[i])
                : BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]);
            Assert.True(same, $"value {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
