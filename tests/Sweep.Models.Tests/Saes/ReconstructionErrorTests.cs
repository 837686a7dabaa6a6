using Sweep.Models.Saes;

namespace Sweep.Models.Tests.Saes;

/// <summary>
/// Every encoder reports Σ (x − x̂)² in float64 (what a capture stores per shard), equal to the sum recomputed from the
/// reconstruction it returns; asked for the squared error only, it returns the same codes and the same error and no x̂;
/// and an encoder that keeps working buffers between calls gives the same result however its calls are sized.
/// </summary>
public sealed class ReconstructionErrorTests
{
    public static TheoryData<SaeArchitecture, SaeNormalization, bool> Encoders => new()
    {
        { SaeArchitecture.TopK, SaeNormalization.None, true },
        { SaeArchitecture.TopK, SaeNormalization.None, false },
        { SaeArchitecture.TopK, SaeNormalization.ConstantNormRescale, true },
        { SaeArchitecture.TopK, SaeNormalization.LayerNorm, true },
        { SaeArchitecture.Standard, SaeNormalization.None, true },
        { SaeArchitecture.JumpRelu, SaeNormalization.LayerNorm, false },
    };

    [Theory]
    [MemberData(nameof(Encoders))]
    public void The_squared_error_is_that_of_the_returned_reconstruction(SaeArchitecture architecture, SaeNormalization norm, bool applyBDec)
    {
        const int dIn = 72, tokens = 50;
        var config = RandomSaes.Config(architecture, dIn: dIn, dSae: 384, k: architecture == SaeArchitecture.TopK ? 10 : null, norm: norm, applyBDec: applyBDec);
        using var sae = RandomSaes.SaeLens(config, seed: 11);
        var x = RandomSaes.Gaussian(new Random(2), tokens * dIn, 1.0);
        var full = sae.Encode(x, [tokens]);
        double expected = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = (double)x[i] - full.Reconstruction![i];
            expected += d * d;
        }
        Assert.True(Math.Abs(full.ReconstructionSse - expected) <= 1e-12 * expected, $"{full.ReconstructionSse:R} against {expected:R}");

        var errorOnly = sae.Encode(x, [tokens], ReconstructionOutput.SquaredErrorOnly);
        Assert.Null(errorOnly.Reconstruction);
        Assert.Equal(full.ReconstructionSse, errorOnly.ReconstructionSse);   // bitwise
        var (a, b) = (full.Codes[SparseAutoencoder.CodesOutput], errorOnly.Codes[SparseAutoencoder.CodesOutput]);
        Assert.Equal(a.Offsets, b.Offsets);
        Assert.Equal(a.Indices, b.Indices);
        Assert.Equal(a.Values, b.Values);
    }

    [Fact]
    public void A_temporal_saes_squared_error_is_that_of_its_reconstruction()
    {
        var dir = Directory.CreateTempSubdirectory("sweep-temporal-sse-").FullName;
        try
        {
            RandomSaes.WriteTemporal(dir, dIn: 16, expFactor: 2, heads: 2, bottleneck: 1, layers: 1, diffType: "topk", k: 4, tied: false, seed: 3);
            using var sae = SaeLoader.Load(dir);
            var x = RandomSaes.Gaussian(new Random(4), 12 * 16, 1.0);
            var full = sae.Encode(x, [5, 7]);
            double expected = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double d = (double)x[i] - full.Reconstruction![i];
                expected += d * d;
            }
            Assert.True(Math.Abs(full.ReconstructionSse - expected) <= 1e-12 * expected);
            var errorOnly = sae.Encode(x, [5, 7], ReconstructionOutput.SquaredErrorOnly);
            Assert.Null(errorOnly.Reconstruction);
            Assert.Equal(full.ReconstructionSse, errorOnly.ReconstructionSse);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_topk_encoder_gives_the_same_codes_whatever_its_earlier_calls()
    {
        const int dIn = 40, dSae = 1024, k = 16;
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k, norm: SaeNormalization.LayerNorm);
        var x = RandomSaes.Gaussian(new Random(6), 5000 * dIn, 1.0);
        using var fresh = RandomSaes.SaeLens(config, seed: 5);
        var expected = fresh.Encode(x.AsSpan(0, 700 * dIn), [700]);
        using var used = RandomSaes.SaeLens(config, seed: 5);
        used.Encode(x, [5000]);                              // blocks of 4096 tokens: larger buffers than the next call needs
        used.Encode(x.AsSpan(0, 3 * dIn), [3]);              // a tiny call in between
        var again = used.Encode(x.AsSpan(0, 700 * dIn), [700]);
        var (a, b) = (expected.Codes[SparseAutoencoder.CodesOutput], again.Codes[SparseAutoencoder.CodesOutput]);
        Assert.Equal(a.Offsets, b.Offsets);
        Assert.Equal(a.Indices, b.Indices);
        Assert.Equal(a.Values, b.Values);
        Assert.Equal(expected.Reconstruction!, again.Reconstruction!);
        Assert.Equal(expected.ReconstructionSse, again.ReconstructionSse);
    }
}
