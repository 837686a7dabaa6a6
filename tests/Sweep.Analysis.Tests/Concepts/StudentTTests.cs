using Sweep.Analysis.Linear;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>The t distribution's two-sided p-value, the regularised incomplete beta and ln Γ against scipy, to 1e-9 relative.</summary>
public sealed class StudentTTests
{
    private static readonly double[] Ts = [0, 1e-8, 0.3, 1, 2.5, 6, 15, 40, -3.2];
    private static readonly double[] Dfs = [0.7, 1, 2.5, 9, 37.3, 250, 4e4, 3e6];

    [Fact]
    public void Two_sided_p_values_incomplete_beta_and_log_gamma_equal_scipy()
    {
        double[][] beta = [[0.5, 0.5, 0.3], [2, 3, 0.9], [150, 0.5, 0.999], [0.5, 200, 1e-3], [10, 10, 0.5], [1e3, 1e3, 0.52]];
        double[] gamma = [1e-3, 0.4, 1, 2.5, 17.2, 1e3, 1e7];
        var dummy = new DenseMatrix(1, 1, [0.0]);
        var r = PythonReference.Run("student_t.py", dummy, dummy, new { t = Ts, df = Dfs, beta, gamma });
        for (int i = 0; i < Ts.Length; i++)
            for (int k = 0; k < Dfs.Length; k++)
                Close(r.GetProperty("p")[i][k].GetDouble(), StudentT.TwoSidedP(Ts[i], Dfs[k]), $"p(t = {Ts[i]}, df = {Dfs[k]})");
        for (int i = 0; i < beta.Length; i++)
            Close(r.GetProperty("betainc")[i].GetDouble(), StudentT.RegularizedIncompleteBeta(beta[i][0], beta[i][1], beta[i][2]), $"I({string.Join(", ", beta[i])})");
        for (int i = 0; i < gamma.Length; i++)
            Close(r.GetProperty("gammaln")[i].GetDouble(), StudentT.LogGamma(gamma[i]), $"lnΓ({gamma[i]})", absolute: 1e-14);   // lnΓ(1) = 0
    }

    [Fact]
    public void Infinite_t_has_p_zero_and_NaN_stays_NaN()
    {
        Assert.Equal(0, StudentT.TwoSidedP(double.PositiveInfinity, 5));
        Assert.True(double.IsNaN(StudentT.TwoSidedP(double.NaN, 5)));
        Assert.Equal(1, StudentT.TwoSidedP(0, 5));
    }

    [Fact]
    public void Benjamini_Hochberg_adjusts_ascending_p_values_step_up_and_leaves_undefined_ones_out()
    {
        // m = 4 defined: sorted 0.01, 0.02, 0.03, 0.5 -> 0.04, 0.04, 0.04, 0.5 (the step-up minimum carries 0.04 down).
        var q = MultipleTesting.BenjaminiHochberg([0.03, double.NaN, 0.01, 0.5, 0.02]);
        Assert.Equal(0.04, q[0], 12);
        Assert.True(double.IsNaN(q[1]));
        Assert.Equal(0.04, q[2], 12);
        Assert.Equal(0.5, q[3], 12);
        Assert.Equal(0.04, q[4], 12);
    }

    private static void Close(double expected, double actual, string what, double absolute = 1e-300) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-9 * Math.Abs(expected) + absolute, $"{what}: expected {expected:R}, got {actual:R}");
}
