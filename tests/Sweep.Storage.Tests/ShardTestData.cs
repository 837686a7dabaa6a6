using System.Runtime.InteropServices;
using Sweep.Storage.Shards;

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

    public static bool BitwiseEqual(float[] a, float[] b) =>
        MemoryMarshal.AsBytes(a.AsSpan()).SequenceEqual(MemoryMarshal.AsBytes(b.AsSpan()));
}
