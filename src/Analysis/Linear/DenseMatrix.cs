namespace Sweep.Analysis.Linear;

/// <summary>
/// A row-major float64 matrix. For activations rows are items (tokens) and columns are units; for
/// weight matrices rows are whatever is compared across models (e.g. SAE decoder rows = features).
/// </summary>
public sealed record DenseMatrix(int Rows, int Cols, double[] Data)
{
    public double this[int row, int col] => Data[(long)row * Cols + col];

    public ReadOnlySpan<double> Row(int row) => Data.AsSpan(row * Cols, Cols);

    public static DenseMatrix FromFloats(ReadOnlySpan<float> values, int rows, int cols)
    {
        if (values.Length != (long)rows * cols) throw new ArgumentException($"{values.Length} values do not fill {rows} x {cols}");
        var data = new double[values.Length];
        for (int i = 0; i < data.Length; i++) data[i] = values[i];
        return new DenseMatrix(rows, cols, data);
    }

    /// <summary>The rows at <paramref name="indices"/>, in that order.</summary>
    public DenseMatrix SelectRows(IReadOnlyList<int> indices)
    {
        var data = new double[(long)indices.Count * Cols];
        for (int r = 0; r < indices.Count; r++) Row(indices[r]).CopyTo(data.AsSpan(r * Cols, Cols));
        return new DenseMatrix(indices.Count, Cols, data);
    }

    public float[] ToFloats()
    {
        var f = new float[Data.Length];
        for (int i = 0; i < f.Length; i++) f[i] = (float)Data[i];
        return f;
    }
}
