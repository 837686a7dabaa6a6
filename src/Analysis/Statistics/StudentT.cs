namespace Sweep.Analysis.Statistics;

/// <summary>
/// Student's t distribution and the special functions behind it, in float64.
/// <list type="bullet">
/// <item>Two-sided p-value of t with ν degrees of freedom (real ν > 0, as Welch–Satterthwaite gives):
/// p = I_x(ν/2, 1/2) with x = ν/(ν + t²), the regularised incomplete beta function.</item>
/// <item>I_x(a, b) by the continued fraction of Numerical Recipes §6.4 (modified Lentz), evaluated directly for
/// x &lt; (a + 1)/(a + b + 2) and through I_x(a, b) = 1 − I_{1−x}(b, a) above, where it converges fast; the prefactor
/// xᵃ(1 − x)ᵇ/(a·B(a, b)) in logarithms so large ν neither overflows nor underflows early.</item>
/// <item>ln Γ by the Lanczos approximation (g = 7, 9 coefficients; relative error below 10⁻¹⁵ for x &gt; 0).</item>
/// </list>
/// Checked against scipy.stats (t.sf, betainc, gammaln) in the tests to 10⁻⁹ relative.
/// </summary>
public static class StudentT
{
    /// <summary>P(|T| ≥ |t|) for T ~ t(ν). t = ±∞ gives 0; NaN in, NaN out.</summary>
    public static double TwoSidedP(double t, double degreesOfFreedom)
    {
        if (double.IsNaN(t) || double.IsNaN(degreesOfFreedom)) return double.NaN;
        if (degreesOfFreedom <= 0) throw new ArgumentOutOfRangeException(nameof(degreesOfFreedom), degreesOfFreedom, "expected positive degrees of freedom");
        if (double.IsInfinity(t)) return 0;
        double t2 = t * t;
        // x = ν/(ν + t²) loses t² below ν·ε; 1 − x = t²/(ν + t²) keeps it, so pick the form that keeps precision.
        double x = degreesOfFreedom / (degreesOfFreedom + t2), oneMinusX = t2 / (degreesOfFreedom + t2);
        return Math.Min(1, RegularizedIncompleteBeta(degreesOfFreedom / 2, 0.5, x, oneMinusX));
    }

    /// <summary>I_x(a, b) for a, b &gt; 0 and x in [0, 1].</summary>
    public static double RegularizedIncompleteBeta(double a, double b, double x) => RegularizedIncompleteBeta(a, b, x, 1 - x);

    private static double RegularizedIncompleteBeta(double a, double b, double x, double oneMinusX)
    {
        if (a <= 0 || b <= 0) throw new ArgumentOutOfRangeException(nameof(a), $"a = {a}, b = {b}: expected both positive");
        if (x < 0 || x > 1) throw new ArgumentOutOfRangeException(nameof(x), x, "expected x in [0, 1]");
        if (x == 0) return 0;
        if (oneMinusX == 0) return 1;
        double logFront = a * Math.Log(x) + b * Math.Log(oneMinusX) - LogBeta(a, b);
        return x < (a + 1) / (a + b + 2)
            ? Math.Exp(logFront) * ContinuedFraction(a, b, x, oneMinusX) / a
            : 1 - Math.Exp(logFront) * ContinuedFraction(b, a, oneMinusX, x) / b;
    }

    /// <summary>ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).</summary>
    public static double LogBeta(double a, double b) => LogGamma(a) + LogGamma(b) - LogGamma(a + b);

    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7).</summary>
    public static double LogGamma(double x)
    {
        if (x <= 0) throw new ArgumentOutOfRangeException(nameof(x), x, "expected x > 0");
        if (x < 0.5) return Math.Log(Math.PI / Math.Sin(Math.PI * x)) - LogGamma(1 - x);   // reflection
        x -= 1;
        double sum = Lanczos[0];
        for (int i = 1; i < Lanczos.Length; i++) sum += Lanczos[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }

    /// <summary>The continued fraction for I_x(a, b) (Numerical Recipes' betacf), by the modified Lentz method.</summary>
    private static double ContinuedFraction(double a, double b, double x, double oneMinusX)
    {
        const double tiny = 1e-300, epsilon = 1e-16;
        const int maxIterations = 1_000_000;   // O(√max(a, b)) are needed; a million covers ν up to ~10¹²
        double qab = a + b, qap = a + 1, qam = a - 1;
        double c = 1, d = 1 - qab * x / qap;
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= maxIterations; m++)
        {
            int m2 = 2 * m;
            double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
            d = 1 + aa * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            h *= d * c;
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
            d = 1 + aa * d; if (Math.Abs(d) < tiny) d = tiny;
            c = 1 + aa / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < epsilon) return h;
        }
        throw new ArithmeticException($"the incomplete beta continued fraction did not converge for a = {a}, b = {b}, x = {x} (1 - x = {oneMinusX})");
    }
}
