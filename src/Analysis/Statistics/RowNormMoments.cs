namespace Sweep.Analysis.Statistics;

/// <summary>
/// Mergeable row-norm moments of two aligned matrices X [n, dx], Y [n, dy], with aᵢ = ‖xᵢ‖², bᵢ = ‖yᵢ‖²:
/// n, Σa, Σb, Σa², Σb², Σab and the weighted row sums Σ aᵢxᵢ, Σ bᵢxᵢ, Σ aᵢyᵢ, Σ bᵢyᵢ, in float64.
/// With <see cref="DensePairStatistics"/> they give the squared norms of the *centred* rows, which the
/// unbiased HSIC estimator needs, without a second pass over the data. Partials merge by addition.
/// </summary>
public sealed class RowNormMoments
{
    public long Count { get; private init; }
    public double SumA { get; private init; }
    public double SumB { get; private init; }
    public double SumAA { get; private init; }
    public double SumBB { get; private init; }
    public double SumAB { get; private init; }
    public required double[] SumAX { get; init; }
    public required double[] SumBX { get; init; }
    public required double[] SumAY { get; init; }
    public required double[] SumBY { get; init; }

    public static RowNormMoments FromRows(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int rows, int widthX, int widthY)
    {
        var m = Empty(widthX, widthY);
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (int i = 0; i < rows; i++)
        {
            var xi = x.Slice(i * widthX, widthX);
            var yi = y.Slice(i * widthY, widthY);
            double a = 0, b = 0;
            foreach (var v in xi) a += (double)v * v;
            foreach (var v in yi) b += (double)v * v;
            sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
            for (int j = 0; j < widthX; j++) { m.SumAX[j] += a * xi[j]; m.SumBX[j] += b * xi[j]; }
            for (int j = 0; j < widthY; j++) { m.SumAY[j] += a * yi[j]; m.SumBY[j] += b * yi[j]; }
        }
        return new RowNormMoments
        {
            Count = rows, SumA = sa, SumB = sb, SumAA = saa, SumBB = sbb, SumAB = sab,
            SumAX = m.SumAX, SumBX = m.SumBX, SumAY = m.SumAY, SumBY = m.SumBY,
        };
    }

    public static RowNormMoments FromMatrices(Linear.DenseMatrix x, Linear.DenseMatrix y) =>
        x.Rows == y.Rows ? FromDoubleRows(x, y) : throw new ArgumentException("the matrices need the same rows");

    private static RowNormMoments FromDoubleRows(Linear.DenseMatrix x, Linear.DenseMatrix y)
    {
        var m = Empty(x.Cols, y.Cols);
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (int i = 0; i < x.Rows; i++)
        {
            var xi = x.Row(i); var yi = y.Row(i);
            double a = 0, b = 0;
            foreach (var v in xi) a += v * v;
            foreach (var v in yi) b += v * v;
            sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
            for (int j = 0; j < x.Cols; j++) { m.SumAX[j] += a * xi[j]; m.SumBX[j] += b * xi[j]; }
            for (int j = 0; j < y.Cols; j++) { m.SumAY[j] += a * yi[j]; m.SumBY[j] += b * yi[j]; }
        }
        return new RowNormMoments
        {
            Count = x.Rows, SumA = sa, SumB = sb, SumAA = saa, SumBB = sbb, SumAB = sab,
            SumAX = m.SumAX, SumBX = m.SumBX, SumAY = m.SumAY, SumBY = m.SumBY,
        };
    }

    /// <summary>Moments from their parts, as <see cref="Measures"/> reads them back from a partial file.</summary>
    public static RowNormMoments FromParts(long count, double sumA, double sumB, double sumAA, double sumBB, double sumAB,
        double[] sumAX, double[] sumBX, double[] sumAY, double[] sumBY) => new()
    {
        Count = count, SumA = sumA, SumB = sumB, SumAA = sumAA, SumBB = sumBB, SumAB = sumAB,
        SumAX = sumAX, SumBX = sumBX, SumAY = sumAY, SumBY = sumBY,
    };

    public static RowNormMoments Empty(int widthX, int widthY) => new()
    {
        SumAX = new double[widthX], SumBX = new double[widthX], SumAY = new double[widthY], SumBY = new double[widthY],
    };

    public RowNormMoments Merge(RowNormMoments other) => new()
    {
        Count = Count + other.Count, SumA = SumA + other.SumA, SumB = SumB + other.SumB,
        SumAA = SumAA + other.SumAA, SumBB = SumBB + other.SumBB, SumAB = SumAB + other.SumAB,
        SumAX = Add(SumAX, other.SumAX), SumBX = Add(SumBX, other.SumBX),
        SumAY = Add(SumAY, other.SumAY), SumBY = Add(SumBY, other.SumBY),
    };

    private static double[] Add(double[] a, double[] b)
    {
        if (a.Length != b.Length) throw new ArgumentException("cannot merge row-norm moments of different widths");
        var s = new double[a.Length];
        for (int i = 0; i < s.Length; i++) s[i] = a[i] + b[i];
        return s;
    }
}
