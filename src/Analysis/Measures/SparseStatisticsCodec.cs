using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>
/// <see cref="SparsePairStatistics"/> as partial sections: n, the A features whose cross sums it holds ([low_a, high_a):
/// all of A unless tiled), per-feature sums and sums of squares of both sides, then
/// the co-active cross sums row by row (per A feature whether its row is dense and its co-active count; the sparse
/// rows' columns and sums concatenated; the dense rows' sums concatenated, one per B feature). Written and read row by
/// row, so a large partial is never copied whole.
/// </summary>
internal static class SparseStatisticsCodec
{
    public static void Write(SparsePairStatistics s, PartialWriter w)
    {
        var cross = s.Cross;
        w.Write("count", s.Count);
        w.Write("low_a", cross.LowA); w.Write("high_a", cross.HighA);
        w.Write("sum_a", s.SumA); w.Write("sumsq_a", s.SumSqA); w.Write("sum_b", s.SumB); w.Write("sumsq_b", s.SumSqB);
        int widthA = s.WidthA;
        var dense = new int[widthA];
        var counts = new int[widthA];
        long sparseEntries = 0, denseRows = 0;
        for (int i = 0; i < widthA; i++)
        {
            dense[i] = cross.IsDense(i) ? 1 : 0;
            counts[i] = cross.CountOf(i);
            if (cross.IsDense(i)) denseRows++; else sparseEntries += counts[i];
        }
        w.Write("row_dense", dense);
        w.Write("row_count", counts);
        w.BeginArray<int>("columns", sparseEntries);
        for (int i = 0; i < widthA; i++) if (!cross.IsDense(i)) w.Append(cross.Columns(i));
        w.BeginArray<double>("sparse_sums", sparseEntries);
        for (int i = 0; i < widthA; i++) if (!cross.IsDense(i)) w.Append(cross.Values(i));
        w.BeginArray<double>("dense_sums", denseRows * s.WidthB);
        for (int i = 0; i < widthA; i++) if (cross.IsDense(i)) w.Append(cross.Values(i));
    }

    public static SparsePairStatistics Read(int widthA, int widthB, PartialReader r)
    {
        long count = r.ReadInt64("count");
        int lowA = checked((int)r.ReadInt64("low_a")), highA = checked((int)r.ReadInt64("high_a"));
        double[] sumA = r.ReadDoubles("sum_a"), sumSqA = r.ReadDoubles("sumsq_a"), sumB = r.ReadDoubles("sum_b"), sumSqB = r.ReadDoubles("sumsq_b");
        if (sumA.Length != widthA || sumB.Length != widthB) throw new InvalidDataException($"sparse statistics of {sumA.Length}x{sumB.Length} features, expected {widthA}x{widthB}");
        int[] dense = r.ReadInts("row_dense"), counts = r.ReadInts("row_count");
        var columns = new int[]?[widthA];
        var values = new double[widthA][];
        r.BeginArray<int>("columns");
        for (int i = 0; i < widthA; i++)
            if (dense[i] == 0) r.ReadInto<int>(columns[i] = new int[counts[i]]);
        r.BeginArray<double>("sparse_sums");
        for (int i = 0; i < widthA; i++)
            if (dense[i] == 0) r.ReadInto<double>(values[i] = new double[counts[i]]);
        r.BeginArray<double>("dense_sums");
        for (int i = 0; i < widthA; i++)
            if (dense[i] == 1) r.ReadInto<double>(values[i] = new double[widthB]);
        return SparsePairStatistics.FromParts(count, sumA, sumSqA, sumB, sumSqB, CrossSums.FromRows(widthB, columns, values, counts, lowA, highA));
    }
}
