namespace Sweep.Analysis.Correlation;

/// <summary>
/// Exact best matches from <see cref="SparsePairStatistics"/>, the same as <see cref="DenseCorrelation"/>
/// gives on the dense codes. With r(i, j) = (Sᵢⱼ − sᵢsⱼ/n) / √(vᵢvⱼ) (Sᵢⱼ the co-active cross sum, s the
/// sums, v the centred sums of squares): a pair never co-active has Sᵢⱼ = 0, so
/// r(i, j) = −(sᵢ/√vᵢ)(sⱼ/√vⱼ)/n ≤ 0 for non-negative codes, decreasing in qⱼ = sⱼ/√vⱼ. The best
/// never-co-active partner of i is therefore the live j with the smallest qⱼ outside i's co-active set:
/// one walk down B's features sorted by q, skipping at most |co-active(i)| of them. Every feature's best
/// match (and top-k) is exact, positive or not, at cost O(co-active pairs · log) rather than O(FA·FB).
/// </summary>
public static class SparseCorrelation
{
    public static BestMatches BestMatches(SparsePairStatistics stats, int topK = 0)
    {
        long n = stats.Count;
        if (n < 2) throw new ArgumentException("correlation needs at least 2 tokens");
        var sideA = Side.Of(stats.SumA, stats.SumSqA, n);
        var sideB = Side.Of(stats.SumB, stats.SumSqB, n);
        var aToB = Direction(stats.Cross, sideA, sideB, n, topK, out var topKAToB);
        var bToA = Direction(stats.Cross.Transpose(stats.WidthB), sideB, sideA, n, 0, out _);
        return new BestMatches
        {
            WidthA = stats.WidthA, WidthB = stats.WidthB, Count = n, AToB = aToB, BToA = bToA,
            TopKAToB = topKAToB, DeadA = sideA.Dead, DeadB = sideB.Dead,
        };
    }

    /// <summary>Per-feature moments of one side: sums, centred sums of squares, dead flags and q = s/√v.</summary>
    private sealed record Side(double[] Sum, double[] Var, bool[] Dead, double[] Q, int[] LiveByQ, double[] InvStd)
    {
        public static Side Of(double[] sum, double[] sumSq, long n)
        {
            int w = sum.Length;
            var variance = new double[w];
            var dead = new bool[w];
            var q = new double[w];
            for (int i = 0; i < w; i++)
            {
                variance[i] = sumSq[i] - sum[i] * sum[i] / n;
                dead[i] = DeadFeature.IsDead(variance[i], sumSq[i]);
                q[i] = dead[i] ? 0 : sum[i] / Math.Sqrt(variance[i]);
            }
            var live = Enumerable.Range(0, w).Where(i => !dead[i]).ToArray();
            // ascending q, ties to the lower index: the order in which never-co-active partners get worse.
            Array.Sort(live, (x, y) => q[x] != q[y] ? q[x].CompareTo(q[y]) : x.CompareTo(y));
            var invStd = variance.Select((v, i) => dead[i] ? 0.0 : 1.0 / Math.Sqrt(v)).ToArray();
            return new Side(sum, variance, dead, q, live, invStd);
        }
    }

    /// <summary>Best (and top-k) partners on the "to" side for every feature of the "from" side; <paramref name="cross"/> is CSR over "from".</summary>
    private static Match[] Direction(CrossSums cross, Side a, Side b, long n, int topK, out Match[][] topKMatches)
    {
        int width = a.Sum.Length;
        var best = new Match[width];
        var topKs = new Match[topK > 0 ? width : 0][];
        int wanted = Math.Max(1, topK);
        // Features are independent; each worker keeps its own co-active marks and candidate list.
        Parallel.For(0, width, () => (Marks: new int[b.Sum.Length], Candidates: new List<Match>()), (i, _, local) =>
        {
            int start = cross.RowStart[i], end = cross.RowStart[i + 1];
            if (a.Dead[i]) { best[i] = new Match(-1, 0.0); if (topK > 0) topKs[i] = []; return local; }
            var candidates = local.Candidates;
            candidates.Clear();
            var top = new Match(-1, double.NegativeInfinity);
            for (int k = start; k < end; k++)
            {
                int j = cross.Columns[k];
                local.Marks[j] = i + 1;   // marks j co-active with i, no clearing needed
                if (b.Dead[j]) continue;
                var m = new Match(j, (cross.Values[k] - a.Sum[i] * b.Sum[j] / n) * a.InvStd[i] * b.InvStd[j]);
                if (Better(m, top)) top = m;
                if (topK > 1) candidates.Add(m);
            }
            // Never-co-active partners, best first: ascending q, skipping co-active ones.
            int taken = 0;
            foreach (var j in b.LiveByQ)
            {
                if (taken == wanted) break;
                if (local.Marks[j] == i + 1) continue;
                var m = new Match(j, -(a.Sum[i] * b.Sum[j] / n) * a.InvStd[i] * b.InvStd[j]);
                if (Better(m, top)) top = m;
                if (topK > 1) candidates.Add(m);
                taken++;
            }
            best[i] = top.Index >= 0 ? top : new Match(-1, 0.0);
            if (topK == 1) topKs[i] = top.Index >= 0 ? [top] : [];
            else if (topK > 1)
            {
                candidates.Sort((x, y) => x.Correlation != y.Correlation ? y.Correlation.CompareTo(x.Correlation) : x.Index.CompareTo(y.Index));
                topKs[i] = candidates.Take(topK).ToArray();
            }
            return local;
        }, _ => { });
        topKMatches = topKs;
        return best;
    }

    /// <summary>Higher correlation wins; equal correlations go to the lower index (the dense path's order).</summary>
    private static bool Better(Match m, Match than) =>
        m.Correlation > than.Correlation || (m.Correlation == than.Correlation && (than.Index < 0 || m.Index < than.Index));
}
