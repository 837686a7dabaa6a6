using static TorchSharp.torch;

namespace Sweep.Analysis.Linear;

/// <summary>
/// float64 dense linear algebra on row-major arrays (LAPACK through TorchSharp). A libtorch failure (a decomposition
/// that does not converge) is a <see cref="LinearAlgebraException"/> with libtorch's first line only: its C++ stack
/// frames never reach a user.
/// </summary>
public static class Linalg
{
    /// <summary>Eigen-decomposition of a symmetric n x n matrix: eigenvalues in descending order, eigenvectors as the columns of a row-major n x n array.</summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n) => Native("eigendecomposition", () =>
    {
        using var scope = NewDisposeScope();
        var t = tensor(matrix, new long[] { n, n }, float64);
        var (values, vectors) = linalg.eigh(t);
        // eigh returns ascending order; flip to descending so "keep the first k" keeps the largest.
        var order = values.argsort(descending: true);
        return (Array(values.index_select(0, order)), Array(vectors.index_select(1, order)));
    });

    /// <summary>Singular values (descending) and the left/right singular vectors of a row-major rows x cols matrix (thin SVD).</summary>
    public static (double[] U, double[] S, double[] Vt) Svd(double[] matrix, int rows, int cols) => Native("singular value decomposition", () =>
    {
        using var scope = NewDisposeScope();
        var (u, s, vt) = linalg.svd(tensor(matrix, new long[] { rows, cols }, float64), fullMatrices: false);
        return (Array(u), Array(s), Array(vt));
    });

    public static double[] SingularValues(double[] matrix, int rows, int cols) => Native("singular values", () =>
    {
        using var scope = NewDisposeScope();
        return Array(linalg.svdvals(tensor(matrix, new long[] { rows, cols }, float64)));
    });

    /// <summary>Row-major product a [m, k] x b [k, n].</summary>
    public static double[] Multiply(double[] a, double[] b, int m, int k, int n) => Native("matrix product", () =>
    {
        using var scope = NewDisposeScope();
        return Array(tensor(a, new long[] { m, k }, float64).mm(tensor(b, new long[] { k, n }, float64)));
    });

    private static T Native<T>(string operation, Func<T> work)
    {
        try { return work(); }
        catch (System.Runtime.InteropServices.ExternalException e) { throw new LinearAlgebraException(operation, e); }
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

/// <summary>A libtorch linear-algebra call failed; the message is libtorch's own first line, without its C++ stack frames.</summary>
public sealed class LinearAlgebraException(string operation, Exception inner)
    : Exception($"{operation} failed: {FirstLine(inner.Message)}", inner)
{
    /// <summary>The part of a libtorch message before "Exception raised from ..." and its frames, on one line.</summary>
    public static string FirstLine(string message)
    {
        int frames = message.IndexOf("Exception raised from", StringComparison.Ordinal);
        var text = frames >= 0 ? message[..frames] : message.Split('\n')[0];
        return text.ReplaceLineEndings(" ").Trim();
    }
}
