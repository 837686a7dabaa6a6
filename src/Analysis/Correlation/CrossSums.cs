using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Sweep.Analysis.Correlation;

/// <summary>
/// The co-active cross sums Sᵢⱼ = Σₜ aᵢ(t)·bⱼ(t), one row per A feature, over the tokens where A feature i and
/// B feature j are both active. A row is stored sparse (ascending B columns and their sums) while it has few
/// co-active partners and dense (one sum per B feature) once that takes no more memory — 8 bytes per B feature
/// against 12 per co-active pair: frequent SAE features are co-active with almost everything, rare ones with
/// almost nothing. Zero values are skipped, and float32 x float32 is exact in float64 and cannot underflow, so for
/// non-negative codes every product is positive: a sum is non-zero exactly when the pair was co-active, and a 0 in a
/// dense row means "never co-active". Signed codes (a temporal SAE's pred output) can give a co-active pair whose
/// products cancel to a sum of exactly 0; such a pair is stored like a pair never co-active (or, once in a sparse row,
/// as a listed 0 sum), which changes nothing downstream: Sᵢⱼ enters every formula only as the sum, and 0 is its value
/// either way.
/// </summary>
/// <remarks>
/// Sums are folded in place (<see cref="AddProduct"/>): a batch's products go straight into the rows, a sparse row
/// is merged with the batch's new columns in place when its spare capacity allows (rows grow by a quarter beyond
/// their need), and only the row being merged is ever copied. The sums may hold a range of A features only
/// (<see cref="LowA"/>..<see cref="HighA"/>): a tile of a correlation too large for memory at once.
/// </remarks>
internal sealed class CrossSums
{
    private static readonly int[] NoColumns = [];
    private static readonly double[] NoValues = [];

    private readonly int[]?[] _columns;   // null: the row is dense; a sparse row's arrays may be longer than its count
    private readonly double[][] _values;
    private readonly int[] _counts;       // co-active pairs per row

    private CrossSums(int widthB, int[]?[] columns, double[][] values, int[] counts, int lowA, int highA)
    {
        WidthB = widthB; _columns = columns; _values = values; _counts = counts;
        LowA = lowA; HighA = highA;
        Count = counts.Sum(c => (long)c);
    }

    public int WidthA => _counts.Length;
    public int WidthB { get; }
    /// <summary>The A features whose rows these sums hold: [LowA, HighA); the whole width unless tiled.</summary>
    public int LowA { get; private set; }
    public int HighA { get; private set; }
    public bool HoldsAllOfA => LowA == 0 && HighA == WidthA;
    /// <summary>Distinct co-active pairs.</summary>
    public long Count { get; private set; }

    /// <summary>Memory held by the rows, spare capacity included.</summary>
    public long Bytes
    {
        get
        {
            long bytes = 0;
            for (int i = 0; i < WidthA; i++) bytes += RowBytes(i);
            return bytes;
        }
    }

    private long RowBytes(int i) => 40 + (IsDense(i) ? 8L * WidthB : 12L * _columns[i]!.Length);

    /// <summary>Whether a row with <paramref name="count"/> co-active pairs is stored dense (it then takes no more memory).</summary>
    public static bool StoresDense(long count, int widthB) => 3 * count >= 2L * widthB;

    public bool IsDense(int i) => _columns[i] is null;
    public int DenseRows => _columns.Count(c => c is null);
    public int CountOf(int i) => _counts[i];
    /// <summary>A sparse row's co-active B columns, ascending.</summary>
    public ReadOnlySpan<int> Columns(int i) => _columns[i].AsSpan(0, _counts[i]);
    /// <summary>A dense row's sums for every B feature, or a sparse row's sums in the order of <see cref="Columns"/>.</summary>
    public ReadOnlySpan<double> Values(int i) => IsDense(i) ? _values[i] : _values[i].AsSpan(0, _counts[i]);

    /// <summary>Sᵢⱼ, 0 for a pair never co-active.</summary>
    public double Get(int i, int j)
    {
        if (_columns[i] is not { } columns) return _values[i][j];
        int k = Array.BinarySearch(columns, 0, _counts[i], j);
        return k >= 0 ? _values[i][k] : 0.0;
    }

    /// <summary>Cross sums from their rows (a partial read back from its file): per row its columns (null: dense), sums and co-active count.</summary>
    internal static CrossSums FromRows(int widthB, int[]?[] columns, double[][] values, int[] counts, int lowA, int highA) =>
        new(widthB, columns, values, counts, lowA, highA);

    public static CrossSums Empty(int widthA, int widthB) => Empty(widthA, widthB, 0, widthA);

    public static CrossSums Empty(int widthA, int widthB, int lowA, int highA) =>
        new(widthB, Enumerable.Repeat(NoColumns, widthA).ToArray<int[]?>(), Enumerable.Repeat(NoValues, widthA).ToArray(), new int[widthA], lowA, highA);

    /// <summary>
    /// Releases the rows of A features [<paramref name="from"/>, HighA) and stops holding them: what a fold does when the
    /// sums outgrow their memory budget (those features are left to a later pass).
    /// </summary>
    public void Truncate(int from)
    {
        for (int i = from; i < HighA; i++) { _columns[i] = NoColumns; _values[i] = NoValues; _counts[i] = 0; }
        HighA = Math.Max(LowA, from);
        Count = _counts.Sum(c => (long)c);
    }

    /// <summary>The first A feature at or after <see cref="LowA"/> whose rows from LowA on take more than <paramref name="bytes"/>.</summary>
    public int FirstBeyond(long bytes)
    {
        long total = 0;
        for (int i = LowA; i < HighA; i++)
            if ((total += RowBytes(i)) > bytes) return i;
        return HighA;
    }

    /// <summary>
    /// Adds Gustavson's sparse product AᵀB over consecutive blocks of tokens (taken as one) into the rows held: for each
    /// A feature, walk its tokens and add its value times each B entry of that token into a dense scratch row (in L1 or
    /// L2 for SAE widths), then fold the scratch into the feature's row — added into a dense row, merged with a sparse
    /// one (in place when its capacity allows), or kept as the row when the feature had none.
    /// Cost O(Σₜ nnzA(t)·nnzB(t) + the pairs of the rows touched).
    /// </summary>
    public void AddProduct(IReadOnlyList<SparseRows> a, IReadOnlyList<SparseRows> b)
    {
        int widthB = WidthB;
        FeatureMajor byFeature = null!;
        TokenMajor byToken = null!;
        Parallel.Invoke(() => byFeature = FeatureMajor.Of(a, LowA, HighA), () => byToken = TokenMajor.Of(b));
        double bPerToken = (double)byToken.Entries.Length / Math.Max(1, byToken.Offsets.Length - 1);
        var chunks = Cores.Chunks(HighA - LowA, f => byFeature.Start[f + 1] - byFeature.Start[f] + 1 + (_counts[LowA + f] >> 3));
        // With negative codes a running sum can return to 0, so "the slot is still 0" no longer means "not touched yet".
        bool signed = byFeature.HasNegative || byToken.HasNegative;
        Parallel.For(0, chunks.Length - 1, Cores.OnePerCore, c =>
        {
            var scratch = new double[widthB];
            var touched = new int[widthB];
            var marks = signed ? new int[widthB] : [];
            for (int f = chunks[c]; f < chunks[c + 1]; f++)
            {
                int tokens = byFeature.Start[f + 1] - byFeature.Start[f];
                if (tokens == 0) continue;
                // Listing first touches costs more than a scan of the scratch row unless the row will be very sparse.
                bool track = tokens * bPerToken < widthB / 8.0;
                int n = !track ? Accumulate<NoTouches>(byFeature, f, byToken, scratch, touched, marks)
                    : signed ? Accumulate<MarkTouches>(byFeature, f, byToken, scratch, touched, marks)
                    : Accumulate<ListTouches>(byFeature, f, byToken, scratch, touched, marks);
                if (track) Array.Sort(touched, 0, n);
                else n = NonZeros(scratch, touched);
                if (track && signed) n = DropZeroSums(scratch, touched, n);
                if (n == 0) continue;
                scratch = FoldRow(LowA + f, scratch, touched, n);
            }
        });
        Count = _counts.Sum(x => (long)x);
    }

    /// <summary>
    /// Adds the scratch row's sums (at the <paramref name="n"/> ascending columns listed in <paramref name="touched"/>)
    /// into row i and clears them from the scratch; returns the scratch to use next (a fresh one when this one became
    /// the row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private double[] FoldRow(int i, double[] scratch, int[] touched, int n)
    {
        int widthB = WidthB;
        if (IsDense(i))
        {
            var row = _values[i];
            int added = 0;
            for (int k = 0; k < n; k++)
            {
                int j = touched[k];
                // Signed sums can also return to 0 (counted as never co-active again); non-negative ones only grow.
                double before = row[j], after = before + scratch[j];
                added += (after != 0 ? 1 : 0) - (before != 0 ? 1 : 0);
                row[j] = after;
                scratch[j] = 0;
            }
            _counts[i] += added;
            return scratch;
        }
        if (_counts[i] == 0)
        {
            _counts[i] = n;
            if (StoresDense(n, widthB)) { (_columns[i], _values[i]) = (null, scratch); return new double[widthB]; }
            (_columns[i], _values[i]) = Compact(scratch, touched, n, Grown(n));
            return scratch;
        }
        var columns = Columns(i);
        int union = MergedCount(columns, touched.AsSpan(0, n));
        if (StoresDense(union, widthB))
        {
            // The scratch becomes the dense row: the old sparse sums are added into it.
            var values = Values(i);
            for (int k = 0; k < columns.Length; k++) scratch[columns[k]] += values[k];
            (_columns[i], _values[i], _counts[i]) = (null, scratch, union);
            return new double[widthB];
        }
        if (union <= _columns[i]!.Length)
            MergeBackward(_columns[i]!, _values[i], _counts[i], scratch, touched, n, union);
        else
        {
            var (mergedColumns, mergedValues) = (new int[Grown(union)], new double[Grown(union)]);
            MergeInto(columns, Values(i), scratch, touched.AsSpan(0, n), mergedColumns, mergedValues);
            (_columns[i], _values[i]) = (mergedColumns, mergedValues);
        }
        _counts[i] = union;
        for (int k = 0; k < n; k++) scratch[touched[k]] = 0;
        return scratch;
    }

    /// <summary>Room for a sparse row of <paramref name="count"/> pairs and a quarter more, so later batches mostly merge in place.</summary>
    private static int Grown(int count) => count + (count >> 2);

    /// <summary>Merges the scratch's sums at the listed columns into a sparse row in place, from the back (capacity ≥ union).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeBackward(int[] columns, double[] values, int count, double[] scratch, int[] touched, int n, int union)
    {
        int p = count - 1, q = n - 1, w = union - 1;
        while (q >= 0)
        {
            int t = touched[q];
            if (p >= 0 && columns[p] > t) { columns[w] = columns[p]; values[w--] = values[p--]; }
            else if (p >= 0 && columns[p] == t) { columns[w] = t; values[w--] = values[p--] + scratch[t]; q--; }
            else { columns[w] = t; values[w--] = scratch[t]; q--; }
        }
        // The rest of the old row is already in place (w == p).
    }

    /// <summary>Merges a sparse row and the scratch's sums at the listed columns into new arrays (sized for the union or more).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeInto(ReadOnlySpan<int> columns, ReadOnlySpan<double> values, double[] scratch, ReadOnlySpan<int> touched, int[] outColumns, double[] outValues)
    {
        int p = 0, q = 0, w = 0;
        while (p < columns.Length || q < touched.Length)
        {
            if (q == touched.Length || (p < columns.Length && columns[p] < touched[q])) { outColumns[w] = columns[p]; outValues[w++] = values[p++]; }
            else if (p == columns.Length || touched[q] < columns[p]) { outColumns[w] = touched[q]; outValues[w++] = scratch[touched[q++]]; }
            else { outColumns[w] = columns[p]; outValues[w++] = values[p++] + scratch[touched[q++]]; }
        }
    }

    /// <summary>
    /// Adds feature f's products into <paramref name="scratch"/>; with <see cref="ListTouches"/> (non-negative codes) or
    /// <see cref="MarkTouches"/> (signed codes), lists the columns it touches first in <paramref name="touched"/> (in touch
    /// order) and returns their number.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe int Accumulate<TTouches>(FeatureMajor a, int f, TokenMajor b, double[] scratch, int[] touched, int[] marks) where TTouches : struct
    {
        int stamp = f + 1;   // marks[j] == f + 1: column j was touched by feature f (no clearing between features)
        var offsets = b.Offsets; var tokens = a.Tokens; var aValues = a.Values;
        int n = 0, first = a.Start[f], end = a.Start[f + 1];
        fixed (TokenMajor.Entry* entries = b.Entries)
        fixed (double* sums = scratch)
        {
            for (int p = first; p < end; p++)
            {
                // The tokens of a feature are scattered over the block, so their B rows are cache misses the hardware
                // cannot predict; asking for a row a few tokens ahead overlaps those misses.
                if (p + PrefetchDistance < end)
                {
                    int ahead = tokens[p + PrefetchDistance];
                    Prefetch(entries + offsets[ahead], entries + offsets[ahead + 1]);
                }
                double va = aValues[p];
                int t = tokens[p];
                for (TokenMajor.Entry* e = entries + offsets[t], rowEnd = entries + offsets[t + 1]; e < rowEnd; e++)
                {
                    int j = e->Column;   // validated: 0 <= j < scratch.Length
                    if (typeof(TTouches) == typeof(ListTouches))   // a constant for the JIT: no branch in either copy
                    {
                        // Branch-free "first touch": the slot is still 0 exactly when j was not touched yet.
                        touched[n] = j;
                        n += sums[j] == 0 ? 1 : 0;
                    }
                    else if (typeof(TTouches) == typeof(MarkTouches))
                    {
                        touched[n] = j;
                        n += marks[j] != stamp ? 1 : 0;
                        marks[j] = stamp;
                    }
                    sums[j] += va * e->Value;
                }
            }
        }
        return n;
    }

    private struct ListTouches;
    private struct MarkTouches;
    private struct NoTouches;

    /// <summary>Keeps the listed (ascending) columns whose sum is not 0 (signed products that cancelled); returns their number.</summary>
    private static int DropZeroSums(double[] scratch, int[] touched, int n)
    {
        int kept = 0;
        for (int k = 0; k < n; k++)
            if (scratch[touched[k]] != 0) touched[kept++] = touched[k];
        return kept;
    }

    private const int PrefetchDistance = 4;

    private static unsafe void Prefetch(TokenMajor.Entry* from, TokenMajor.Entry* to)
    {
        if (!Sse.IsSupported || from >= to) return;
        for (var line = (byte*)from; line < (byte*)to; line += 64) Sse.Prefetch0(line);
        Sse.Prefetch0(to - 1);
    }

    /// <summary>Lists the non-zero columns of a scratch row in <paramref name="columns"/>, ascending; returns their number.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int NonZeros(double[] scratch, int[] columns)
    {
        int n = 0;
        for (int j = 0; j < scratch.Length; j++)
        {
            columns[n] = j;
            n += scratch[j] != 0 ? 1 : 0;
        }
        return n;
    }

    /// <summary>The listed (ascending) columns of the scratch row with their sums, in arrays of <paramref name="capacity"/>; clears the scratch for the next row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int[], double[]) Compact(double[] scratch, int[] touched, int n, int capacity)
    {
        if (n == 0) return (NoColumns, NoValues);
        var columns = new int[capacity];
        Array.Copy(touched, columns, n);
        var values = new double[capacity];
        for (int k = 0; k < n; k++) { values[k] = scratch[columns[k]]; scratch[columns[k]] = 0; }
        return (columns, values);
    }

    /// <summary>
    /// The sums of both, row by row (sparse rows by a sorted merge). Neither operand changes unless
    /// <paramref name="consume"/>: then rows of either are added into in place where they have room (dense rows always,
    /// sparse rows when their spare capacity holds the union), each operand row is released as soon as it is merged,
    /// and neither operand may be used again.
    /// </summary>
    public CrossSums Add(CrossSums other, bool consume = false)
    {
        if (other.WidthA != WidthA || other.WidthB != WidthB) throw new ArgumentException("cannot add cross sums of different widths");
        if (other.LowA != LowA || other.HighA != HighA) throw new ArgumentException("cannot add cross sums of different A feature ranges");
        var columns = new int[]?[WidthA];
        var values = new double[WidthA][];
        var counts = new int[WidthA];
        for (int i = 0; i < WidthA; i++) (columns[i], values[i]) = (NoColumns, NoValues);
        var chunks = Cores.Chunks(WidthA, i => RowCost(i) + other.RowCost(i));
        Parallel.For(0, chunks.Length - 1, Cores.OnePerCore, c =>
        {
            for (int i = chunks[c]; i < chunks[c + 1]; i++)
            {
                (columns[i], values[i], counts[i]) = AddRow(other, i, consume);
                if (!consume) continue;
                // Released now, not when the whole merge is done: the merge's peak is one copy of the data, not two.
                (_columns[i], _values[i], _counts[i]) = (NoColumns, NoValues, 0);
                (other._columns[i], other._values[i], other._counts[i]) = (NoColumns, NoValues, 0);
            }
        });
        return new CrossSums(WidthB, columns, values, counts, LowA, HighA);
    }

    private int RowCost(int i) => IsDense(i) ? WidthB : _counts[i] + 1;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private (int[]?, double[], int) AddRow(CrossSums other, int i, bool consume)
    {
        // Sharing a row is safe: rows are written in place only by a consuming merge, whose operands are never used again.
        if (_counts[i] == 0) return (other._columns[i], other._values[i], other._counts[i]);
        if (other._counts[i] == 0) return (_columns[i], _values[i], _counts[i]);
        if (IsDense(i) || other.IsDense(i))
        {
            var (dense, sparse) = IsDense(i) ? (this, other) : (other, this);
            var sum = consume ? dense._values[i] : (double[])dense._values[i].Clone();
            int count = dense._counts[i];
            if (sparse.IsDense(i))
            {
                var add = sparse._values[i];
                for (int j = 0; j < sum.Length; j++)
                {
                    count += sum[j] == 0 && add[j] != 0 ? 1 : 0;
                    sum[j] += add[j];
                }
            }
            else count += ScatterAdd(sum, sparse.Columns(i), sparse.Values(i));
            return (null, sum, count);
        }
        if (StoresDense(_counts[i] + other._counts[i], WidthB))
        {
            // Likely dense: scattering both is branch-free and counts the union exactly on the way.
            var sum = new double[WidthB];
            int union = ScatterAdd(sum, Columns(i), Values(i)) + ScatterAdd(sum, other.Columns(i), other.Values(i));
            if (StoresDense(union, WidthB)) return (null, sum, union);
        }
        int merged = MergedCount(Columns(i), other.Columns(i));
        if (consume)
        {
            // In place into whichever operand row has the room.
            var (into, from) = _columns[i]!.Length >= merged ? (this, other) : (other, this);
            if (into._columns[i]!.Length >= merged)
            {
                MergeBackward(into._columns[i]!, into._values[i], into._counts[i], from.Columns(i), from.Values(i), merged);
                return (into._columns[i], into._values[i], merged);
            }
        }
        var (mergedColumns, mergedValues) = MergeSorted(Columns(i), Values(i), other.Columns(i), other.Values(i), merged);
        return (mergedColumns, mergedValues, merged);
    }

    /// <summary>Merges a sorted sparse row into another in place, from the back (its capacity holds the union).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeBackward(int[] columns, double[] values, int count, ReadOnlySpan<int> addColumns, ReadOnlySpan<double> addValues, int union)
    {
        int p = count - 1, q = addColumns.Length - 1, w = union - 1;
        while (q >= 0)
        {
            int t = addColumns[q];
            if (p >= 0 && columns[p] > t) { columns[w] = columns[p]; values[w--] = values[p--]; }
            else if (p >= 0 && columns[p] == t) { columns[w] = t; values[w--] = values[p--] + addValues[q--]; }
            else { columns[w] = t; values[w--] = addValues[q--]; }
        }
    }

    /// <summary>Adds sparse entries into a dense row; returns how many were new (the slot was 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ScatterAdd(double[] row, ReadOnlySpan<int> columns, ReadOnlySpan<double> values)
    {
        int added = 0;
        for (int k = 0; k < columns.Length; k++)
        {
            added += row[columns[k]] == 0 ? 1 : 0;
            row[columns[k]] += values[k];
        }
        return added;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int MergedCount(ReadOnlySpan<int> x, ReadOnlySpan<int> y)
    {
        int p = 0, q = 0, n = 0;
        while (p < x.Length && q < y.Length)
        {
            int cx = x[p], cy = y[q];
            p += cx <= cy ? 1 : 0;
            q += cy <= cx ? 1 : 0;
            n++;
        }
        return n + (x.Length - p) + (y.Length - q);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (int[], double[]) MergeSorted(ReadOnlySpan<int> xc, ReadOnlySpan<double> xv, ReadOnlySpan<int> yc, ReadOnlySpan<double> yv, int count)
    {
        var columns = new int[count];
        var values = new double[count];
        int p = 0, q = 0, n = 0;
        while (p < xc.Length || q < yc.Length)
        {
            if (q == yc.Length || (p < xc.Length && xc[p] < yc[q])) { columns[n] = xc[p]; values[n++] = xv[p++]; }
            else if (p == xc.Length || yc[q] < xc[p]) { columns[n] = yc[q]; values[n++] = yv[q++]; }
            else { columns[n] = xc[p]; values[n++] = xv[p++] + yv[q++]; }
        }
        return (columns, values);
    }

    /// <summary>
    /// The A codes of consecutive blocks grouped by feature (CSC): per feature of a range, its tokens (numbered across
    /// the blocks, ascending) and values; zero values are left out, so no product is 0.
    /// </summary>
    private sealed record FeatureMajor(int[] Start, int[] Tokens, float[] Values, bool HasNegative)
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static FeatureMajor Of(IReadOnlyList<SparseRows> blocks, int lowA, int highA)
        {
            // Feature f of [lowA, highA) is slot f − lowA; entries of other features are left out.
            int width = highA - lowA;
            var start = new int[width + 1];
            bool negative = false;
            foreach (var block in blocks)
                for (int k = 0; k < block.Indices.Length; k++)
                {
                    int f = block.Indices[k] - lowA;
                    if ((uint)f < (uint)width) start[f + 1] += block.Values[k] != 0 ? 1 : 0;
                    negative |= block.Values[k] < 0;
                }
            for (int f = 0; f < width; f++) start[f + 1] += start[f];
            var tokens = new int[start[width]];
            var values = new float[start[width]];
            // Each worker fills a range of features, reading every entry: the reads stream, the writes scatter.
            int parts = Math.Max(1, Math.Min(Environment.ProcessorCount, width));
            Parallel.For(0, parts, Cores.OnePerCore, part =>
            {
                int low = (int)((long)width * part / parts), high = (int)((long)width * (part + 1) / parts);
                var fill = start[low..(high + 1)];
                int token = 0;
                foreach (var block in blocks)
                    for (int t = 0; t < block.Rows; t++, token++)
                        for (int k = block.Offsets[t]; k < block.Offsets[t + 1]; k++)
                        {
                            int f = block.Indices[k] - lowA;
                            if (f < low || f >= high || block.Values[k] == 0) continue;
                            int slot = fill[f - low]++;
                            tokens[slot] = token;
                            values[slot] = block.Values[k];
                        }
            });
            return new FeatureMajor(start, tokens, values, negative);
        }
    }

    /// <summary>
    /// The B codes of consecutive blocks as one CSR table with each entry's column and value side by side (one cache
    /// line brings both); zero values are left out.
    /// </summary>
    private sealed record TokenMajor(int[] Offsets, TokenMajor.Entry[] Entries, bool HasNegative)
    {
        public readonly record struct Entry(int Column, float Value);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static TokenMajor Of(IReadOnlyList<SparseRows> blocks)
        {
            var offsets = new int[blocks.Sum(b => b.Rows) + 1];
            var entries = new Entry[blocks.Sum(b => b.Indices.Length)];
            int token = 0, n = 0;
            bool negative = false;
            foreach (var block in blocks)
                for (int t = 0; t < block.Rows; t++)
                {
                    for (int k = block.Offsets[t]; k < block.Offsets[t + 1]; k++)
                    {
                        if (block.Values[k] != 0) entries[n++] = new Entry(block.Indices[k], block.Values[k]);
                        negative |= block.Values[k] < 0;
                    }
                    offsets[++token] = n;
                }
            return new TokenMajor(offsets, entries, negative);
        }
    }
}
