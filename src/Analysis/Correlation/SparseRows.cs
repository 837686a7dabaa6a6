namespace Sweep.Analysis.Correlation;

/// <summary>
/// Sparse codes of a block of tokens in CSR form, the layout of a sparse shard (Arrow <c>idx</c>
/// List&lt;int32&gt;, <c>val</c> List&lt;float32&gt;): token t holds Indices/Values[Offsets[t]..Offsets[t+1]),
/// indices strictly increasing within a token, values the (non-negative) activations.
/// </summary>
public sealed record SparseRows(int Width, int[] Offsets, int[] Indices, float[] Values)
{
    public int Rows => Offsets.Length - 1;

    public void Validate()
    {
        if (Offsets.Length == 0 || Offsets[0] != 0 || Offsets[^1] != Indices.Length || Indices.Length != Values.Length)
            throw new ArgumentException("sparse rows: offsets must start at 0 and end at the number of indices, one value per index");
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++)
            {
                if (Indices[k] < 0 || Indices[k] >= Width) throw new ArgumentException($"sparse rows: token {t} has feature {Indices[k]} outside 0..{Width - 1}");
                if (k > Offsets[t] && Indices[k] <= Indices[k - 1]) throw new ArgumentException($"sparse rows: token {t} has feature indices out of order");
                if (Values[k] < 0 || !float.IsFinite(Values[k])) throw new ArgumentException($"sparse rows: token {t} feature {Indices[k]} has value {Values[k]}, expected non-negative codes");
            }
    }

    /// <summary>Dense row-major copy [Rows, Width] (for tests and the dense reference path).</summary>
    public float[] ToDense()
    {
        var dense = new float[(long)Rows * Width];
        for (int t = 0; t < Rows; t++)
            for (int k = Offsets[t]; k < Offsets[t + 1]; k++) dense[(long)t * Width + Indices[k]] = Values[k];
        return dense;
    }

    /// <summary>The tokens of several blocks, in order, as one block (one sparse product over a shard range instead of a merge per shard).</summary>
    public static SparseRows Concat(IReadOnlyList<SparseRows> blocks)
    {
        if (blocks.Count == 0) throw new ArgumentException("no blocks to concatenate");
        int width = blocks[0].Width;
        if (blocks.Any(b => b.Width != width)) throw new ArgumentException("cannot concatenate sparse rows of different widths");
        var offsets = new int[blocks.Sum(b => b.Rows) + 1];
        var indices = new int[blocks.Sum(b => b.Indices.Length)];
        var values = new float[indices.Length];
        int row = 0, at = 0;
        foreach (var b in blocks)
        {
            for (int t = 0; t < b.Rows; t++) offsets[++row] = at + b.Offsets[t + 1];
            Array.Copy(b.Indices, 0, indices, at, b.Indices.Length);
            Array.Copy(b.Values, 0, values, at, b.Values.Length);
            at += b.Indices.Length;
        }
        return new SparseRows(width, offsets, indices, values);
    }

    /// <summary>Tokens [from, from + count) as their own block.</summary>
    public SparseRows Slice(int from, int count)
    {
        int start = Offsets[from], end = Offsets[from + count];
        var offsets = new int[count + 1];
        for (int t = 0; t <= count; t++) offsets[t] = Offsets[from + t] - start;
        return new SparseRows(Width, offsets, Indices[start..end], Values[start..end]);
    }
}

/// <summary>
/// The co-active cross sums Sᵢⱼ as a CSR matrix over A's features: row i holds the B features ever
/// co-active with i (ascending) and the sums. Merging two is a row-wise sorted merge.
/// </summary>
internal sealed class CrossSums(int[] rowStart, int[] columns, double[] values)
{
    public int[] RowStart { get; } = rowStart;   // length widthA + 1
    public int[] Columns { get; } = columns;
    public double[] Values { get; } = values;
    public int Count => Columns.Length;
    public long Bytes => RowStart.Length * 4L + Columns.Length * 12L;

    public static CrossSums Empty(int widthA) => new(new int[widthA + 1], [], []);

    /// <summary>
    /// Gustavson's sparse product AᵀB over one block of tokens: for each A feature, walk its tokens and add
    /// its value times each B entry of that token into a dense accumulator row, then emit the touched
    /// columns in order. Cost O(Σₜ nnzA(t)·nnzB(t)) with cache-friendly updates.
    /// </summary>
    public static CrossSums Product(SparseRows a, SparseRows b)
    {
        // A by feature (CSC): token ids and values per feature, tokens ascending.
        var featureStart = new int[a.Width + 1];
        foreach (var f in a.Indices) featureStart[f + 1]++;
        for (int f = 0; f < a.Width; f++) featureStart[f + 1] += featureStart[f];
        var fill = (int[])featureStart.Clone();
        var tokenOf = new int[a.Indices.Length];
        var valueOf = new float[a.Indices.Length];
        for (int t = 0; t < a.Rows; t++)
            for (int k = a.Offsets[t]; k < a.Offsets[t + 1]; k++) { int slot = fill[a.Indices[k]]++; tokenOf[slot] = t; valueOf[slot] = a.Values[k]; }

        // Features are independent: chunks of A's features run in parallel, each with its own accumulator, then concatenate.
        int chunks = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, a.Width / 64));
        var parts = new (int[] Counts, int[] Columns, double[] Values, int Count)[chunks];
        Parallel.For(0, chunks, c =>
        {
            int from = (int)((long)a.Width * c / chunks), to = (int)((long)a.Width * (c + 1) / chunks);
            parts[c] = ProductRows(from, to, featureStart, tokenOf, valueOf, b);
        });
        var rowStart = new int[a.Width + 1];
        int total = parts.Sum(p => p.Count);
        var columns = new int[total];
        var values = new double[total];
        int at = 0, row = 0;
        foreach (var part in parts)
        {
            Array.Copy(part.Columns, 0, columns, at, part.Count);
            Array.Copy(part.Values, 0, values, at, part.Count);
            foreach (var count in part.Counts) { at += count; rowStart[++row] = at; }
        }
        return new CrossSums(rowStart, columns, values);
    }

    /// <summary>Rows [from, to) of AᵀB: per feature, its co-active B columns in order, with their sums.</summary>
    private static (int[] Counts, int[] Columns, double[] Values, int Count) ProductRows(int from, int to, int[] featureStart, int[] tokenOf, float[] valueOf, SparseRows b)
    {
        // Codes are validated non-negative and zeros are skipped, so every product is > 0 (float32 x float32 cannot
        // underflow in float64): accumulator[j] != 0 exactly when j was touched, and no separate flags are needed.
        var accumulator = new double[b.Width];
        var touchedList = new int[b.Width];
        var counts = new int[to - from];
        var columns = new int[Math.Max(16, featureStart[to] - featureStart[from])];
        var values = new double[columns.Length];
        int count = 0;
        var bOffsets = b.Offsets; var bIndices = b.Indices; var bValues = b.Values;
        for (int f = from; f < to; f++)
        {
            int nTouched = 0;
            for (int p = featureStart[f]; p < featureStart[f + 1]; p++)
            {
                double va = valueOf[p];
                if (va == 0) continue;
                int t = tokenOf[p];
                for (int q = bOffsets[t], end = bOffsets[t + 1]; q < end; q++)
                {
                    int j = bIndices[q];
                    float vb = bValues[q];
                    if (vb == 0) continue;
                    if (accumulator[j] == 0) touchedList[nTouched++] = j;
                    accumulator[j] += va * vb; // float32 x float32 is exact in float64
                }
            }
            if (count + nTouched > columns.Length)
            {
                int size = Math.Max(count + nTouched, columns.Length * 2);
                Array.Resize(ref columns, size);
                Array.Resize(ref values, size);
            }
            // Emit in column order: a scan of the accumulator when the row is dense-ish, else a sort of the touched columns.
            if (nTouched > b.Width / 16)
            {
                for (int j = 0; j < b.Width; j++)
                    if (accumulator[j] != 0) { columns[count] = j; values[count++] = accumulator[j]; accumulator[j] = 0; }
            }
            else
            {
                Array.Sort(touchedList, 0, nTouched);
                for (int k = 0; k < nTouched; k++)
                {
                    int j = touchedList[k];
                    columns[count] = j; values[count++] = accumulator[j]; accumulator[j] = 0;
                }
            }
            counts[f - from] = nTouched;
        }
        return (counts, columns, values, count);
    }

    /// <summary>Row-wise sorted merge, summing shared columns. Rows are independent: counted, then filled, in parallel.</summary>
    public CrossSums Add(CrossSums other)
    {
        int width = RowStart.Length - 1;
        var rowStart = new int[width + 1];
        Parallel.For(0, width, i => rowStart[i + 1] = MergeRow(other, i, null, null, 0));
        for (int i = 0; i < width; i++) rowStart[i + 1] += rowStart[i];
        var columns = new int[rowStart[width]];
        var values = new double[rowStart[width]];
        Parallel.For(0, width, i => MergeRow(other, i, columns, values, rowStart[i]));
        return new CrossSums(rowStart, columns, values);
    }

    /// <summary>Merges row i of both into columns/values from <paramref name="at"/> (only counts when they are null); returns the row's length.</summary>
    private int MergeRow(CrossSums other, int i, int[]? columns, double[]? values, int at)
    {
        int p = RowStart[i], pe = RowStart[i + 1], q = other.RowStart[i], qe = other.RowStart[i + 1], n = at;
        while (p < pe || q < qe)
        {
            int column; double value;
            if (q == qe || (p < pe && Columns[p] < other.Columns[q])) { column = Columns[p]; value = Values[p++]; }
            else if (p == pe || other.Columns[q] < Columns[p]) { column = other.Columns[q]; value = other.Values[q++]; }
            else { column = Columns[p]; value = Values[p++] + other.Values[q++]; }
            if (columns is not null) { columns[n] = column; values![n] = value; }
            n++;
        }
        return n - at;
    }

    /// <summary>The same sums grouped by B feature (CSR of the transpose), A ascending within each B.</summary>
    public CrossSums Transpose(int widthB)
    {
        var rowStart = new int[widthB + 1];
        foreach (var j in Columns) rowStart[j + 1]++;
        for (int j = 0; j < widthB; j++) rowStart[j + 1] += rowStart[j];
        var fill = (int[])rowStart.Clone();
        var columns = new int[Count];
        var values = new double[Count];
        for (int i = 0; i + 1 < RowStart.Length; i++)
            for (int k = RowStart[i]; k < RowStart[i + 1]; k++) { int at = fill[Columns[k]]++; columns[at] = i; values[at] = Values[k]; }
        return new CrossSums(rowStart, columns, values);
    }
}
