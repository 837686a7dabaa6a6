using static TorchSharp.torch;

namespace Sweep.Analysis.Linear;

/// <summary>float64 dense linear algebra on row-major arrays (LAPACK through TorchSharp).</summary>
public static class Linalg
{
    /// <summary>Eigen-decomposition of a symmetric n x n matrix: eigenvalues in descending order, eigenvectors as the columns of a row-major n x n array.</summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        using var scope = NewDisposeScope();
        var t = tensor(matrix, new long[] { n, n }, float64);
        var (values, vectors) = linalg.eigh(t);
        // eigh returns ascending order; flip to descending so "keep the first k" keeps the largest.
        var order = values.argsort(descending: true);
        return (Array(values.index_select(0, order)), Array(vectors.index_select(1, order)));
    }

    /// <summary>Singular values (descending) and the left/right singular vectors of a row-major rows x cols matrix (thin SVD).</summary>
    public static (double[] U, double[] S, double[] Vt) Svd(double[] matrix, int rows, int cols)
    {
        using var scope = NewDisposeScope();
        var (u, s, vt) = linalg.svd(tensor(matrix, new long[] { rows, cols }, float64), fullMatrices: false);
        return (Array(u), Array(s), Array(vt));
    }

    public static double[] SingularValues(double[] matrix, int rows, int cols)
    {
        using var scope = NewDisposeScope();
        return Array(linalg.svdvals(tensor(matrix, new long[] { rows, cols }, float64)));
    }

    /// <summary>Row-major product a [m, k] x b [k, n].</summary>
    public static double[] Multiply(double[] a, double[] b, int m, int k, int n)
    {
        using var scope = NewDisposeScope();
        return Array(tensor(a, new long[] { m, k }, float64).mm(tensor(b, new long[] { k, n }, float64)));
    }

    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < cols; j++) t[(long)j * rows + i] = a[(long)i * cols + j];
        return t;
    }

    private static double[] Array(Tensor t) => t.contiguous().data<double>().ToArray();
}
