namespace Sweep.Analysis.Similarity;

public enum OuterCorrelation { Spearman, Pearson, Kendall }

/// <summary>Correlation of two equally long vectors: Pearson, Spearman (Pearson of average ranks) and Kendall's τ-b (scipy.stats conventions).</summary>
public static class RankCorrelation
{
    public static double Compute(double[] x, double[] y, OuterCorrelation kind) => kind switch
    {
        OuterCorrelation.Pearson => Pearson(x, y),
        OuterCorrelation.Spearman => Pearson(AverageRanks(x), AverageRanks(y)),
        _ => KendallTauB(x, y),
    };

    /// <summary>Pearson correlation; 0 when either vector is constant.</summary>
    public static double Pearson(double[] x, double[] y)
    {
        if (x.Length != y.Length) throw new ArgumentException("vectors differ in length");
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx > 0 && syy > 0 ? sxy / Math.Sqrt(sxx * syy) : 0.0;
    }

    /// <summary>Ranks 1..n, ties get the mean of their ranks.</summary>
    public static double[] AverageRanks(double[] v)
    {
        var order = Enumerable.Range(0, v.Length).ToArray();
        Array.Sort(v.ToArray(), order);
        var ranks = new double[v.Length];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    /// <summary>
    /// Kendall's τ-b in O(m log m) (Knight 1966): sort by (x, y), count pairs tied in x, in both,
    /// then count discordant pairs as the swaps of a merge sort on y; ties in y counted after sorting.
    /// </summary>
    public static double KendallTauB(double[] x, double[] y)
    {
        int n = x.Length;
        if (n != y.Length) throw new ArgumentException("vectors differ in length");
        var order = Enumerable.Range(0, n).ToArray();
        Array.Sort(order, (a, b) => x[a] != x[b] ? x[a].CompareTo(x[b]) : y[a].CompareTo(y[b]));
        long tiedX = 0, tiedXY = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && x[order[j + 1]] == x[order[i]]) j++;
            long t = j - i + 1;
            tiedX += t * (t - 1) / 2;
            for (int k = i; k <= j;)
            {
                int l = k;
                while (l + 1 <= j && y[order[l + 1]] == y[order[k]]) l++;
                long u = l - k + 1;
                tiedXY += u * (u - 1) / 2;
                k = l + 1;
            }
            i = j + 1;
        }
        var ys = order.Select(i => y[i]).ToArray();
        long swaps = MergeSortCountingSwaps(ys, new double[n], 0, n);
        long tiedY = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j + 1 < n && ys[j + 1] == ys[i]) j++;
            long t = j - i + 1;
            tiedY += t * (t - 1) / 2;
            i = j + 1;
        }
        long total = (long)n * (n - 1) / 2;
        // concordant − discordant = total − tiedX − tiedY + tiedXY − 2·swaps
        double numerator = total - tiedX - tiedY + tiedXY - 2.0 * swaps;
        double denominator = Math.Sqrt((double)(total - tiedX) * (total - tiedY));
        return denominator > 0 ? numerator / denominator : 0.0;
    }

    private static long MergeSortCountingSwaps(double[] a, double[] buffer, int from, int to)
    {
        if (to - from < 2) return 0;
        int mid = (from + to) / 2;
        long swaps = MergeSortCountingSwaps(a, buffer, from, mid) + MergeSortCountingSwaps(a, buffer, mid, to);
        int i = from, j = mid, k = from;
        while (i < mid && j < to)
        {
            if (a[j] < a[i]) { swaps += mid - i; buffer[k++] = a[j++]; }
            else buffer[k++] = a[i++];
        }
        while (i < mid) buffer[k++] = a[i++];
        while (j < to) buffer[k++] = a[j++];
        Array.Copy(buffer, from, a, from, to - from);
        return swaps;
    }
}
