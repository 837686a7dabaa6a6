using Sweep.Analysis.Similarity;
using Sweep.Analysis.Statistics;

namespace Sweep.Analysis.Tests;

public class LinearCkaTests
{
    private static float[] RandomMatrix(int rows, int cols, int seed, float offset = 0)
    {
        var rng = new Random(seed);
        var m = new float[rows * cols];
        for (int i = 0; i < m.Length; i++) m[i] = (float)(rng.NextDouble() * 2 - 1) + offset;
        return m;
    }

    /// <summary>Direct definition on the data (Gram matrices in the feature space), double loops.</summary>
    private static double ReferenceCka(float[] x, float[] y, int n, int dx, int dy)
    {
        double[] Centre(float[] m, int d)
        {
            var c = new double[n * d];
            for (int j = 0; j < d; j++)
            {
                double mean = 0;
                for (int i = 0; i < n; i++) mean += m[i * d + j];
                mean /= n;
                for (int i = 0; i < n; i++) c[i * d + j] = m[i * d + j] - mean;
            }
            return c;
        }
        double Hsic(double[] a, int da, double[] b, int db)
        {
            double s = 0;
            for (int p = 0; p < da; p++)
                for (int q = 0; q < db; q++)
                {
                    double dot = 0;
                    for (int i = 0; i < n; i++) dot += a[i * da + p] * b[i * db + q];
                    s += dot * dot;
                }
            return s;
        }
        var xc = Centre(x, dx); var yc = Centre(y, dy);
        return Hsic(xc, dx, yc, dy) / Math.Sqrt(Hsic(xc, dx, xc, dx) * Hsic(yc, dy, yc, dy));
    }

    [Fact]
    public void MatchesTheDirectDefinition()
    {
        const int n = 300, dx = 12, dy = 7;
        var x = RandomMatrix(n, dx, 1, offset: 3f);
        var y = RandomMatrix(n, dy, 2);
        for (int i = 0; i < n; i++) y[i * dy] += 2 * x[i * dx]; // some shared signal
        double expected = ReferenceCka(x, y, n, dx, dy);
        double actual = LinearCka.Compute(DensePairStatistics.FromRows(x, y, n, dx, dy)).Number;
        Assert.InRange(expected, 0.01, 0.99);
        Assert.Equal(expected, actual, 1e-10);
    }

    [Fact]
    public void IsOneForIdenticalAndInvariantToRotationAndScale()
    {
        const int n = 200, d = 6;
        var x = RandomMatrix(n, d, 3);
        Assert.Equal(1.0, LinearCka.Compute(DensePairStatistics.FromRows(x, x, n, d, d)).Number, 12);

        // Rotate the first two columns by 0.7 rad and scale everything by 5.
        var rotated = new float[x.Length];
        double c = Math.Cos(0.7), s = Math.Sin(0.7);
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < d; j++) rotated[i * d + j] = 5 * x[i * d + j];
            rotated[i * d] = (float)(5 * (c * x[i * d] - s * x[i * d + 1]));
            rotated[i * d + 1] = (float)(5 * (s * x[i * d] + c * x[i * d + 1]));
        }
        Assert.Equal(1.0, LinearCka.Compute(DensePairStatistics.FromRows(x, rotated, n, d, d)).Number, 6);
    }

    [Fact]
    public void ShardedMergeEqualsOnePass()
    {
        const int n = 240, dx = 5, dy = 9;
        var x = RandomMatrix(n, dx, 4);
        var y = RandomMatrix(n, dy, 5);
        var whole = DensePairStatistics.FromRows(x, y, n, dx, dy);
        int[] cuts = [0, 17, 100, 101, 240];
        var parts = new List<DensePairStatistics>();
        for (int k = 0; k + 1 < cuts.Length; k++)
        {
            int from = cuts[k], rows = cuts[k + 1] - cuts[k];
            parts.Add(DensePairStatistics.FromRows(x.AsSpan(from * dx, rows * dx), y.AsSpan(from * dy, rows * dy), rows, dx, dy));
        }
        var merged = DensePairStatistics.MergeAll(parts);
        var reversed = DensePairStatistics.MergeAll(Enumerable.Reverse(parts).ToList());
        Assert.Equal(whole.Count, merged.Count);
        Assert.Equal(LinearCka.Compute(whole).Number, LinearCka.Compute(merged).Number, 12);
        Assert.Equal(LinearCka.Compute(merged).Number, LinearCka.Compute(reversed).Number, 12);
    }

    [Fact]
    public void ConstantSideIsUndefinedNotZeroOrNaN()
    {
        const int n = 50, d = 3;
        var x = RandomMatrix(n, d, 6);
        var constant = Enumerable.Repeat(2.5f, n * d).ToArray();
        var cka = LinearCka.Compute(DensePairStatistics.FromRows(x, constant, n, d, d));
        Assert.Null(cka.Value);
        Assert.StartsWith("B is constant", cka.UndefinedReason);
    }

    [Fact]
    public void MergingDifferentWidthsIsRejected()
    {
        var a = DensePairStatistics.Empty(3, 4);
        var b = DensePairStatistics.Empty(3, 5);
        Assert.Throws<ArgumentException>(() => a.Merge(b));
    }
}
