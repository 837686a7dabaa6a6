using Sweep.Models.Saes;
using TorchSharp;

namespace Sweep.Models.Tests.Saes;

/// <summary>
/// The TopK encoder's codes are exactly those of its dense definition, <see cref="SparseAutoencoder.Forward"/>
/// (pre-activations by one matmul plus the bias, torch's topk, ReLU, zeros dropped): the same features, the same
/// float32 values, ties at the k-th value broken as torch's topk breaks them. The reconstruction agrees with the dense
/// decoder's to float32 rounding.
/// </summary>
public sealed class TopKEncodingTests
{
    [Theory]
    [InlineData(24, 96, 7, SaeNormalization.None, 50)]                  // torch's topk: nth_element (k·64 > d_sae)
    [InlineData(32, 2048, 64, SaeNormalization.ConstantNormRescale, 70)]
    [InlineData(16, 8192, 32, SaeNormalization.LayerNorm, 90)]          // torch's topk: partial_sort (k·64 <= d_sae)
    [InlineData(8, 32768, 64, SaeNormalization.None, 300)]              // several tiles of features
    [InlineData(12, 2048, 8, SaeNormalization.ConstantNormRescale, 4500)] // two blocks of tokens, the second starting from the first's threshold
    [InlineData(100, 1024, 16, SaeNormalization.None, 40)]              // d_in past a 64-wide and a 32-wide strip, and a tail
    public void TopK_codes_are_exactly_the_dense_definitions_codes(int dIn, int dSae, int k, SaeNormalization norm, int tokens)
    {
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k, norm: norm);
        using var sae = RandomSaes.SaeLens(config, seed: dSae + k);
        var x = RandomSaes.Gaussian(new Random(dIn), tokens * dIn, 1.0);
        AssertSameAsDense(sae, x, tokens);
    }

    [Theory]
    [InlineData(24)]   // the k-th value falls inside a group of equal values on every token: torch picks among them
    [InlineData(16)]   // k ends exactly at a group's end: no choice to make
    public void Ties_at_the_kth_value_are_broken_as_torchs_topk_breaks_them(int k)
    {
        // 256 features made of 16 distinct encoder columns, each repeated 16 times: every pre-activation value occurs 16 times.
        const int dIn = 12, dSae = 256, distinct = 16, tokens = 40;
        var random = new Random(7);
        var columns = RandomSaes.Gaussian(random, dIn * distinct, 0.5);
        var biases = RandomSaes.Gaussian(random, distinct, 0.1);
        var wEnc = new float[dIn * dSae];
        var bEnc = new float[dSae];
        for (int f = 0; f < dSae; f++)
        {
            int c = (f * 7) % distinct;   // copies spread over the row, not side by side
            bEnc[f] = biases[c];
            for (int i = 0; i < dIn; i++) wEnc[i * dSae + f] = columns[i * distinct + c];
        }
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k);
        using var sae = new SparseAutoencoder(config, wEnc, bEnc, RandomSaes.Gaussian(random, dSae * dIn, 0.1), new float[dIn]);
        var x = RandomSaes.Gaussian(random, tokens * dIn, 1.0);
        var codes = AssertSameAsDense(sae, x, tokens);
        Assert.Contains(Enumerable.Range(0, tokens), t => codes.RowIndices(t).Length == k);
    }

    [Fact]
    public void Tokens_with_fewer_than_k_positive_preactivations_keep_only_those()
    {
        const int dIn = 16, dSae = 512, k = 32, tokens = 60;
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k);
        var random = new Random(3);
        var bEnc = Enumerable.Range(0, dSae).Select(_ => -2.5f).ToArray();
        using var sae = new SparseAutoencoder(config, RandomSaes.Gaussian(random, dIn * dSae, 0.5), bEnc,
            RandomSaes.Gaussian(random, dSae * dIn, 0.1), new float[dIn]);
        var codes = AssertSameAsDense(sae, RandomSaes.Gaussian(random, tokens * dIn, 1.0), tokens);
        Assert.Contains(Enumerable.Range(0, tokens), t => codes.RowIndices(t).Length is > 0 and < k);
        Assert.All(codes.Values, v => Assert.True(v > 0));
    }

    [Fact]
    public void A_threshold_carried_over_from_earlier_tokens_never_changes_the_codes_of_later_ones()
    {
        // Each encoding starts its scans from a threshold set by the k-th values of the (1024 or more) tokens before;
        // inputs much smaller than those have k-th values below it, which must be caught, and much larger ones must not
        // be cut short either.
        const int dIn = 16, dSae = 1024, k = 16, tokens = 1100;
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k);
        using var sae = RandomSaes.SaeLens(config, seed: 8);
        // Tokens of equal norm: their k-th values lie close together, so a threshold is carried over.
        var x = RandomSaes.Gaussian(new Random(9), tokens * dIn, 1.0);
        for (int t = 0; t < tokens; t++)
        {
            var row = x.AsSpan(t * dIn, dIn);
            float norm = MathF.Sqrt(row.ToArray().Sum(v => v * v) / dIn);
            foreach (ref var v in row) v /= norm;
        }
        foreach (var scale in new[] { 1f, 1f, 0.05f, 1f, 20f, 1f })
        {
            var scaled = x.Select(v => v * scale).ToArray();
            scaled[3 * dIn] *= 0.01f;   // one token unlike its neighbours
            AssertSameAsDense(sae, scaled, tokens);
        }
    }

    [Fact]
    public void A_nan_in_the_input_gives_the_codes_torch_gives_it()
    {
        const int dIn = 8, dSae = 128, k = 5, tokens = 6;
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k);
        using var sae = RandomSaes.SaeLens(config, seed: 4);
        var x = RandomSaes.Gaussian(new Random(5), tokens * dIn, 1.0);
        x[2 * dIn + 3] = float.NaN;
        var codes = AssertSameAsDense(sae, x, tokens);
        Assert.Contains(codes.RowValues(2).ToArray(), float.IsNaN);
    }

    [Theory]
    [InlineData(100)]   // 64 + 32 + 4: every strip width of the reconstruction
    [InlineData(7)]     // the scalar tail alone
    public void Reconstruction_is_each_tokens_codes_times_decoder_rows_added_in_feature_order(int dIn)
    {
        const int dSae = 512, k = 12, tokens = 30;
        var config = RandomSaes.Config(SaeArchitecture.TopK, dIn: dIn, dSae: dSae, k: k);
        using var sae = RandomSaes.SaeLens(config, seed: dIn);
        var x = RandomSaes.Gaussian(new Random(3), tokens * dIn, 1.0);
        var encoding = sae.Encode(x, [tokens]);
        var codes = encoding.Codes[SparseAutoencoder.CodesOutput];
        for (int t = 0; t < tokens; t++)
        {
            var (features, values) = (codes.RowIndices(t).ToArray(), codes.RowValues(t).ToArray());
            Assert.Equal(features.Order(), features);
            for (int j = 0; j < dIn; j++)
            {
                float sum = 0f;
                for (int c = 0; c < features.Length; c++) sum = MathF.FusedMultiplyAdd(sae.WDec[features[c] * dIn + j], values[c], sum);
                Assert.Equal(sum + sae.BDec[j], encoding.Reconstruction![t * dIn + j]);   // bitwise
            }
        }
    }

    /// <summary>Encodes, and checks codes and reconstruction against <see cref="SparseAutoencoder.Forward"/> on the whole input.</summary>
    private static SparseCodes AssertSameAsDense(SparseAutoencoder sae, float[] x, int tokens)
    {
        int dIn = sae.Config.DIn, dSae = sae.Config.DSae;
        var encoding = sae.Encode(x, [tokens]);
        var codes = encoding.Codes[SparseAutoencoder.CodesOutput];
        float[] dense, recon;
        using (torch.no_grad())
        using (var scope = torch.NewDisposeScope())
        {
            var (c, r) = sae.Forward(torch.tensor(x, [tokens, dIn]));
            dense = c.data<float>().ToArray();
            recon = r.data<float>().ToArray();
        }
        Assert.Equal(tokens, codes.Rows);
        for (int t = 0; t < tokens; t++)
        {
            var expected = Enumerable.Range(0, dSae).Where(f => dense[t * dSae + f] != 0f).ToArray();
            Assert.Equal(expected, codes.RowIndices(t).ToArray());
            Assert.Equal(expected.Select(f => dense[t * dSae + f]).ToArray(), codes.RowValues(t).ToArray());   // bitwise: the same float32 values
            double scale = 0, diff = 0;
            for (int i = 0; i < dIn; i++)
            {
                scale = Math.Max(scale, Math.Abs(recon[t * dIn + i]));
                diff = Math.Max(diff, Math.Abs(recon[t * dIn + i] - encoding.Reconstruction![t * dIn + i]));
            }
            if (!float.IsNaN(recon[t * dIn])) Assert.True(diff <= 1e-5 * scale, $"token {t}: reconstruction differs by {diff:E3} (scale {scale:E3})");
        }
        return codes;
    }
}
