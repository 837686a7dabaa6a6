using Sweep.Analysis.Features;
using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Tests;

/// <summary>Logit effects of decoder directions, against numpy.</summary>
public sealed class LogitEffectsTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Logit_effects_equal_numpy_with_the_final_norm_gain_folded_in_and_centred_over_the_vocabulary(bool withGain)
    {
        // More features and tokens than one GEMM block holds, so blocks over both are exercised.
        const int features = 600, vocab = 9000, d = 16, k = 5;
        var decoder = TestData.Gaussian(features, d, seed: 1);
        var unembedding = TestData.Gaussian(vocab, d, seed: 2);
        var gain = withGain ? Enumerable.Range(0, d).Select(i => (float)(0.5 + i / 10.0)).ToArray() : null;
        float[] Floats(DenseMatrix m) => m.Data.Select(v => (float)v).ToArray();
        var decoderF = Floats(decoder); var unembeddingF = Floats(unembedding);

        var effects = LogitEffects.Compute(decoderF, features, unembeddingF, vocab, d, gain, k);
        // numpy reads the float32 weights as float64, as the GEMMs here do.
        var reference = PythonReference.Run("logit_effects.py", DenseMatrix.FromFloats(decoderF, features, d), DenseMatrix.FromFloats(unembeddingF, vocab, d),
            new { k, gain = gain?.Select(g => (double)g).ToArray() });
        for (int f = 0; f < features; f++)
            foreach (var direction in new[] { LogitEffect.Promoted, LogitEffect.Suppressed })
            {
                var mine = effects.Where(e => e.Feature == f && e.Direction == direction).ToList();
                var theirs = reference[f].GetProperty(direction).EnumerateArray().ToList();
                Assert.Equal(theirs.Select(t => t[0].GetInt32()), mine.Select(e => e.Token));
                for (int i = 0; i < k; i++) Assert.Equal(theirs[i][1].GetDouble(), mine[i].Effect, 9);
                Assert.Equal(Enumerable.Range(1, k), mine.Select(e => e.Rank));
            }
    }

    [Fact]
    public void Logit_effects_refuse_weights_of_the_wrong_shape_or_not_finite()
    {
        Assert.Throws<ArgumentException>(() => LogitEffects.Compute(new float[6], 2, new float[8], 4, 3, null));
        Assert.Throws<ArgumentException>(() => LogitEffects.Compute([1f, float.NaN], 1, [1f, 2f, 3f, 4f], 2, 2, null));
    }
}
