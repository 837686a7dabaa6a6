using static TorchSharp.torch;

namespace Sweep.Analysis.Features;

/// <summary>One token a feature's decoder direction pushes up (<c>promoted</c>) or down (<c>suppressed</c>) most, with the logit change per unit of activation.</summary>
public sealed record LogitEffect(int Feature, string Direction, int Rank, int Token, double Effect)
{
    public const string Promoted = "promoted";
    public const string Suppressed = "suppressed";
}

/// <summary>
/// The weights logit effects need, as plain data (the pipeline reads them): an SAE's decoder rows W_dec [features, dModel]
/// and its model's unembedding U [vocab, dModel] with the final norm's gain g [dModel] (null: none).
/// </summary>
public sealed record LogitWeights(float[] Decoder, int Features, float[] Unembedding, int Vocab, int DModel, float[]? Gain)
{
    /// <summary>The <paramref name="k"/> most promoted and suppressed tokens of every feature (<see cref="LogitEffects.Compute"/>).</summary>
    public IReadOnlyList<LogitEffect> Effects(int k) => LogitEffects.Compute(Decoder, Features, Unembedding, Vocab, DModel, Gain, k);
}

/// <summary>
/// The direct effect of each feature on the logits ("logit lens" of its decoder direction), as TransformerLens-based
/// dashboards (sae-dashboard, Neuronpedia) compute it with <c>W_dec @ model.W_U</c>:
/// <code>
/// effect[f, v] = Σ_d W_dec[f, d] · g[d] · U[v, d]  −  mean over v of the same
/// </code>
/// U is the unembedding (lm_head, or the token embedding when tied), g the final norm's gain (LayerNorm or RMSNorm
/// weight; Gemma's 1 + w): TransformerLens's default <c>fold_ln</c> folds it into W_U, and its default
/// <c>center_unembed</c> subtracts each row's mean over the vocabulary, which shifts a feature's effects by a constant
/// and leaves their ranking alone. Not applied: the final norm's normalization (a per-token scale, not a property of
/// the direction), its bias and any logit soft-capping (monotone per token). The decoder rows are used as stored, so
/// an effect is per unit of the feature's activation (sae-dashboard first folds decoder norms to 1, which divides a
/// feature's effects by ‖W_dec[f]‖ without changing their order).
/// Computed in float64 GEMMs over blocks of features and of the vocabulary; ties go to the lower token id.
/// </summary>
public static class LogitEffects
{
    public const int DefaultK = 10;
    private const int FeatureBlock = 512, VocabBlock = 8192;

    /// <param name="decoder">W_dec, row-major [features, dModel].</param>
    /// <param name="unembedding">U, row-major [vocab, dModel].</param>
    /// <param name="gain">The final norm's gain [dModel], or null for none.</param>
    public static IReadOnlyList<LogitEffect> Compute(float[] decoder, int features, float[] unembedding, int vocab, int dModel, float[]? gain, int k = DefaultK)
    {
        if (features < 1 || vocab < 1 || dModel < 1) throw new ArgumentException($"logit effects of {features} features over {vocab} tokens of width {dModel}");
        if (decoder.Length != (long)features * dModel) throw new ArgumentException($"decoder has {decoder.Length} values, expected {features} x {dModel}");
        if (unembedding.Length != (long)vocab * dModel) throw new ArgumentException($"unembedding has {unembedding.Length} values, expected {vocab} x {dModel}");
        if (gain is not null && gain.Length != dModel) throw new ArgumentException($"the final norm's gain has {gain.Length} values, expected {dModel}");
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "at least one token per direction");
        CheckFinite(decoder, "decoder"); CheckFinite(unembedding, "unembedding");
        if (gain is not null) CheckFinite(gain, "final norm gain");
        k = Math.Min(k, vocab);

        var results = new List<LogitEffect>(features * 2 * k);
        using var scope = NewDisposeScope();
        var u = from_array(unembedding).view(vocab, dModel);
        for (int f0 = 0; f0 < features; f0 += FeatureBlock)
        {
            int rows = Math.Min(FeatureBlock, features - f0);
            using var blockScope = NewDisposeScope();
            var d = from_array(decoder).view(features, dModel).narrow(0, f0, rows).to(float64);
            if (gain is not null) d = d * from_array(gain).to(float64).unsqueeze(0);
            var tops = Enumerable.Range(0, rows).Select(_ => new Extremes(k)).ToArray();
            var sums = new double[rows];
            for (int v0 = 0; v0 < vocab; v0 += VocabBlock)
            {
                int width = Math.Min(VocabBlock, vocab - v0);
                using var tileScope = NewDisposeScope();
                var effects = d.mm(u.narrow(0, v0, width).to(float64).t()).contiguous().data<double>().ToArray();
                Parallel.For(0, rows, r =>
                {
                    var row = effects.AsSpan(r * width, width);
                    double sum = 0;
                    for (int c = 0; c < width; c++) { sum += row[c]; tops[r].Offer(v0 + c, row[c]); }
                    sums[r] += sum;
                });
            }
            for (int r = 0; r < rows; r++)
            {
                double mean = sums[r] / vocab;
                var (promoted, suppressed) = tops[r].Result();
                for (int i = 0; i < promoted.Count; i++) results.Add(new LogitEffect(f0 + r, LogitEffect.Promoted, i + 1, promoted[i].Token, promoted[i].Value - mean));
                for (int i = 0; i < suppressed.Count; i++) results.Add(new LogitEffect(f0 + r, LogitEffect.Suppressed, i + 1, suppressed[i].Token, suppressed[i].Value - mean));
            }
        }
        return results;
    }

    private static void CheckFinite(float[] values, string what)
    {
        for (long i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) throw new ArgumentException($"{what} value {i} is {values[i]}, expected finite weights");
    }

    /// <summary>The k largest and k smallest values of a row, ties to the lower token (tokens arrive ascending).</summary>
    private sealed class Extremes(int k)
    {
        private readonly List<(int Token, double Value)> _high = new(k + 1), _low = new(k + 1);

        public void Offer(int token, double value)
        {
            Insert(_high, token, value, (x, y) => x > y);
            Insert(_low, token, value, (x, y) => x < y);
        }

        private void Insert(List<(int Token, double Value)> list, int token, double value, Func<double, double, bool> better)
        {
            if (list.Count == k && !better(value, list[^1].Value)) return;
            int at = list.Count;
            while (at > 0 && better(value, list[at - 1].Value)) at--;
            list.Insert(at, (token, value));
            if (list.Count > k) list.RemoveAt(k);
        }

        public (List<(int Token, double Value)> High, List<(int Token, double Value)> Low) Result() => (_high, _low);
    }
}
