using Sweep.Models.Saes;

namespace Sweep.Bench;

/// <summary>
/// Seeded TopK SAEs whose features fire with Zipf-like frequencies on standard-normal inputs, as trained SAEs do: a
/// handful of dense features, a long tail of rare ones. Feature f (in a seeded random order of ranks r) has a unit
/// encoder column u and the bias Φ⁻¹(p_r), p_r = min(0.9, c/(r+1)) with c chosen so that Σp ≈ 3k: since
/// u·x ~ N(0, 1), the pre-activation u·x + b is positive with probability p_r, so well over k are positive per token
/// and TopK keeps k of them (L0 = k), the frequent features most often. The decoder is the encoder's transpose.
/// </summary>
public static class SkewedSae
{
    public static SparseAutoencoder Create(int dIn, int dSae, int k, int seed)
    {
        var random = new Random(seed);
        var ranks = Enumerable.Range(0, dSae).ToArray();
        random.Shuffle(ranks);
        double harmonic = 0;
        for (int r = 0; r < dSae; r++) harmonic += 1.0 / (r + 1);
        double c = 3.0 * k / harmonic;
        var wEnc = new float[dIn * dSae];
        var wDec = new float[dSae * dIn];
        var bEnc = new float[dSae];
        var column = new double[dIn];
        for (int f = 0; f < dSae; f++)
        {
            double norm = 0;
            for (int i = 0; i < dIn; i++) { column[i] = Gaussian(random); norm += column[i] * column[i]; }
            norm = Math.Sqrt(norm);
            for (int i = 0; i < dIn; i++)
            {
                wEnc[i * dSae + f] = (float)(column[i] / norm);
                wDec[f * dIn + i] = (float)(column[i] / norm);
            }
            bEnc[f] = (float)InverseNormal(Math.Min(0.9, c / (ranks[f] + 1)));
        }
        var config = new SaeConfig
        {
            Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = dIn, DSae = dSae, K = k, ApplyBDecToInput = false,
        };
        return new SparseAutoencoder(config, wEnc, bEnc, wDec, new float[dIn]);
    }

    public static double Gaussian(Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>Φ⁻¹(p) by Acklam's rational approximation (relative error ~1e-9; plenty for a benchmark's biases).</summary>
    private static double InverseNormal(double p)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328136743966070e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549671625192100e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        if (p < 0.02425)
        {
            double q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        if (p > 1 - 0.02425)
        {
            double q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }
        double s = p - 0.5, t = s * s;
        return (((((a[0] * t + a[1]) * t + a[2]) * t + a[3]) * t + a[4]) * t + a[5]) * s / (((((b[0] * t + b[1]) * t + b[2]) * t + b[3]) * t + b[4]) * t + 1);
    }
}
