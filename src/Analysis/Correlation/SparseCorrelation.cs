using System.Runtime.CompilerServices;
namespace Sweep.Analysis.Correlation;

/// <summary>
/// Exact best matches from <see cref="SparsePairStatistics"/>, the same as <see cref="DenseCorrelation"/>
/// gives on the dense codes. With r(i, j) = (Sᵢⱼ − sᵢsⱼ/n) / √(vᵢvⱼ) (Sᵢⱼ the co-active cross sum, s the
/// sums, v the centred sums of squares): a pair never co-active has Sᵢⱼ = 0, so its correlation is known from
/// the per-feature sums alone, r(i, j) = −qᵢqⱼ/n with q = s/√v (the "baseline" of the pair). For a given i it
/// is monotone in qⱼ: decreasing when qᵢ &gt; 0, increasing when qᵢ &lt; 0, and 0 for every j when qᵢ = 0. The
/// best never-co-active partner of i is therefore the first live j outside i's co-active set in one walk over
/// B's features: ascending q when qᵢ &gt; 0, descending q when qᵢ &lt; 0, ascending index when qᵢ = 0 (ties of
/// r go to the lower index, as on the dense path). Every feature's best match (and top-k) is exact, positive
/// or not, at cost O(stored pairs + walks) rather than O(FA·FB).
/// <para>
/// Non-negative codes (SAE latents) have s ≥ 0, and a live feature s &gt; 0, so every walk is the ascending
/// one and every baseline is ≤ 0. Signed codes (a temporal SAE's pred output) can have sums of either sign
/// or exactly 0: the same formula and the walk in the direction qᵢ gives keep the result exact (a baseline
/// may then be positive, and may be a feature's best match).
/// </para>
/// </summary>
/// <remarks>
/// One pass over A's rows serves both directions: a sparse row offers its co-active pairs, a dense row (see
/// <see cref="CrossSums"/>) every pair, to the A feature's best and to per-chunk bests of the B features; B's
/// best never-co-active partner is then found by walking A's sparse rows in the q order its sign gives. <see cref="Better"/> is a
/// total order, so chunking and order never change a result.
/// </remarks>
public static class SparseCorrelation
{
    public static BestMatches BestMatches(SparsePairStatistics stats, int topK = 0)
    {
        if (stats.LowA != 0 || stats.HighA != stats.WidthA)
            throw new ArgumentException($"these statistics hold the cross sums of A features [{stats.LowA}, {stats.HighA}) only; combine tiles with {nameof(Tiles)}");
        var tiles = new Tiles(topK);
        tiles.Add(stats);
        return tiles.Finish();
    }

    /// <summary>
    /// Best matches from statistics whose cross sums cover disjoint ranges of A features (tiles, each over all the
    /// tokens): each A feature's matches come from its own tile; each B feature's best is the best, by
    /// <see cref="Better"/>, of every tile's co-active candidates and of every tile's best never-co-active A feature
    /// — the first, in the walk for j's sign (ascending q for non-negative codes), among the tile's sparse rows without j — which is exactly the best over all of A,
    /// since the order is total. A tile can be released once added.
    /// </summary>
    public sealed class Tiles(int topK = 0)
    {
        private Match[]? _aToB, _bToA;
        private Match[][]? _topK;
        private bool[]? _deadA, _deadB;
        private bool[]? _covered;
        private long _count;
        private int _widthA, _widthB;

        public void Add(SparsePairStatistics stats)
        {
            long n = stats.Count;
            if (n < 2) throw new ArgumentException("correlation needs at least 2 tokens");
            var cross = stats.Cross;
            // A negative sum on one side makes the other side's walks descend for it (signed codes only); the per-feature
            // sums cover every feature in every tile, so every tile walks the same way.
            bool signed = stats.SumA.Any(x => x < 0) || stats.SumB.Any(x => x < 0);
            var sideA = Side.Of(stats.SumA, stats.SumSqA, n, signed);
            var sideB = Side.Of(stats.SumB, stats.SumSqB, n, signed);
            if (_aToB is null)
            {
                (_widthA, _widthB, _count) = (stats.WidthA, stats.WidthB, n);
                _aToB = new Match[stats.WidthA];
                _topK = new Match[topK > 0 ? stats.WidthA : 0][];
                _bToA = Enumerable.Repeat(new Match(-1, double.NegativeInfinity), stats.WidthB).ToArray();
                (_deadA, _deadB) = (sideA.Dead, sideB.Dead);
                _covered = new bool[stats.WidthA];
            }
            else if (stats.WidthA != _widthA || stats.WidthB != _widthB || n != _count)
                throw new ArgumentException("tiles of best matches must come from the same tokens and widths");
            for (int i = stats.LowA; i < stats.HighA; i++)
            {
                if (_covered![i]) throw new ArgumentException($"A feature {i} is in two tiles");
                _covered[i] = true;
            }
            int low = stats.LowA;
            var chunks = Cores.Chunks(stats.HighA - low, r => cross.IsDense(low + r) ? stats.WidthB : cross.CountOf(low + r) + 1);
            var bToAByChunk = new RowPass[chunks.Length - 1];
            var (aToB, topKAToB) = (_aToB, _topK!);
            Parallel.For(0, chunks.Length - 1, Cores.OnePerCore, c =>
            {
                var rows = new RowPass(cross, sideA, sideB, n, topK);
                for (int i = low + chunks[c]; i < low + chunks[c + 1]; i++)
                {
                    if (sideA.Dead[i]) { aToB[i] = new Match(-1, 0.0); if (topK > 0) topKAToB[i] = []; continue; }
                    (aToB[i], var top) = rows.Row(i);
                    if (topK > 0) topKAToB[i] = top;
                }
                bToAByChunk[c] = rows;
            });
            var bests = BestForB(cross, sideA, sideB, n, bToAByChunk);
            for (int j = 0; j < bests.Length; j++)
                if (Better(bests[j], _bToA![j])) _bToA[j] = bests[j];
        }

        public BestMatches Finish()
        {
            if (_aToB is null || _covered!.Contains(false)) throw new InvalidOperationException("the tiles do not cover every A feature");
            var bToA = new Match[_widthB];
            for (int j = 0; j < _widthB; j++) bToA[j] = _deadB![j] ? new Match(-1, 0.0) : Final(_bToA![j]);
            return new BestMatches
            {
                WidthA = _widthA, WidthB = _widthB, Count = _count, AToB = _aToB, BToA = bToA,
                TopKAToB = _topK!, DeadA = _deadA!, DeadB = _deadB!,
            };
        }
    }

    /// <summary>Working memory of <see cref="BestMatches"/> beyond the statistics: per chunk, B's bests and co-active marks.</summary>
    public static long WorkingBytes(int widthA, int widthB) =>
        Math.Min(widthA, Cores.MaxChunks) * widthB * 20L + (widthA + widthB) * 40L;

    /// <summary>
    /// Per-feature moments of one side: sums, dead flags, q = s/√v, 1/√v, and the live features in the three walk
    /// orders: by index, ascending q and descending q (ties to the lower index in each; descending only for signed
    /// codes, the only ones that walk it).
    /// </summary>
    private sealed record Side(double[] Sum, bool[] Dead, double[] Q, int[] Live, int[] LiveByQ, int[] LiveByQDescending, double[] InvStd)
    {
        /// <summary>
        /// The walk over this side's live features that meets the never-co-active partners of a feature with sum
        /// <paramref name="partnerSum"/> on the other side best first (baseline r = −q·q_partner/n).
        /// </summary>
        public int[] WalkFor(double partnerSum) => partnerSum > 0 ? LiveByQ : partnerSum < 0 ? LiveByQDescending : Live;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static Side Of(double[] sum, double[] sumSq, long n, bool descending)
        {
            int w = sum.Length;
            var dead = new bool[w];
            var q = new double[w];
            var invStd = new double[w];
            for (int i = 0; i < w; i++)
            {
                double variance = sumSq[i] - sum[i] * sum[i] / n;
                dead[i] = DeadFeature.IsDead(variance, sumSq[i]);
                q[i] = dead[i] ? 0 : sum[i] / Math.Sqrt(variance);
                invStd[i] = dead[i] ? 0.0 : 1.0 / Math.Sqrt(variance);
            }
            var live = Enumerable.Range(0, w).Where(i => !dead[i]).ToArray();
            var byQ = (int[])live.Clone();
            // ascending q, ties to the lower index: the order in which never-co-active partners of a feature with a
            // positive sum get worse (and descending q for a negative sum).
            Array.Sort(byQ, (x, y) => q[x] != q[y] ? q[x].CompareTo(q[y]) : x.CompareTo(y));
            int[] byQDescending = [];
            if (descending)
            {
                byQDescending = (int[])live.Clone();
                Array.Sort(byQDescending, (x, y) => q[x] != q[y] ? q[y].CompareTo(q[x]) : x.CompareTo(y));
            }
            return new Side(sum, dead, q, live, byQ, byQDescending, invStd);
        }
    }

    /// <summary>One worker's pass over A rows (ascending): each row's best B partner (and top-k), and its own running bests for B.</summary>
    private sealed class RowPass(CrossSums cross, Side a, Side b, long n, int topK)
    {
        private readonly int[] _marks = new int[b.Sum.Length];
        private readonly List<Match> _candidates = [];
        /// <summary>Per B feature, the best A row seen so far (−1 and −∞ when none); rows come in ascending order, so ">" keeps the lower index on ties.</summary>
        public int[] BestIndexForB { get; } = Enumerable.Repeat(-1, b.Sum.Length).ToArray();
        public double[] BestCorrelationForB { get; } = Enumerable.Repeat(double.NegativeInfinity, b.Sum.Length).ToArray();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public (Match Best, Match[] TopK) Row(int i)
        {
            if (cross.IsDense(i)) return DenseRow(i);
            _candidates.Clear();
            var top = new Match(-1, double.NegativeInfinity);
            double si = a.Sum[i], inv = a.InvStd[i];
            var values = cross.Values(i);
            var columns = cross.Columns(i);
            for (int k = 0; k < columns.Length; k++)
            {
                int j = columns[k];
                _marks[j] = i + 1;   // marks j co-active with i, no clearing needed
                if (b.Dead[j]) continue;
                var m = new Match(j, (values[k] - si * b.Sum[j] / n) * inv * b.InvStd[j]);
                if (Better(m, top)) top = m;
                OfferToB(j, i, m.Correlation);
                if (topK > 1) _candidates.Add(m);
            }
            // Never-co-active partners, best first (the walk for i's sign), skipping co-active ones.
            int wanted = Math.Max(1, topK), taken = 0;
            foreach (var j in b.WalkFor(si))
            {
                if (taken == wanted) break;
                if (_marks[j] == i + 1) continue;
                var m = new Match(j, -(si * b.Sum[j] / n) * inv * b.InvStd[j]);
                if (Better(m, top)) top = m;
                if (topK > 1) _candidates.Add(m);
                taken++;
            }
            if (topK <= 1) return (Final(top), topK == 1 && top.Index >= 0 ? [top] : []);
            _candidates.Sort((x, y) => x.Correlation != y.Correlation ? y.Correlation.CompareTo(x.Correlation) : x.Index.CompareTo(y.Index));
            return (Final(top), _candidates.Take(topK).ToArray());
        }

        /// <summary>Every live B feature is a candidate; a 0 sum is a pair never co-active, and the formula still holds.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private (Match Best, Match[] TopK) DenseRow(int i)
        {
            double si = a.Sum[i], inv = a.InvStd[i], count = n;
            var values = cross.Values(i);
            var (sumB, invB, deadB) = (b.Sum, b.InvStd, b.Dead);
            var (bestIndex, bestCorrelation) = (BestIndexForB, BestCorrelationForB);
            _candidates.Clear();
            int best = -1;
            double bestR = double.NegativeInfinity;
            for (int j = 0; j < values.Length; j++)
            {
                if (deadB[j]) continue;
                double r = (values[j] - si * sumB[j] / count) * inv * invB[j];
                if (r > bestR) { bestR = r; best = j; }   // ascending j: ">" keeps the lower index on ties
                if (r > bestCorrelation[j]) { bestCorrelation[j] = r; bestIndex[j] = i; }
                if (topK > 0) BestMatchAccumulator.InsertTopK(_candidates, new Match(j, r), topK);
            }
            return (best >= 0 ? new Match(best, bestR) : new Match(-1, 0.0), topK > 0 ? _candidates.ToArray() : []);
        }

        private void OfferToB(int j, int i, double r)
        {
            if (r > BestCorrelationForB[j]) { BestCorrelationForB[j] = r; BestIndexForB[j] = i; }
        }
    }

    /// <summary>
    /// B's best candidates from one tile of A rows: the best of the chunks' co-active (and dense-row) candidates, and
    /// the best never-co-active A feature among the tile's sparse rows — the first, in the walk for j's sign, whose row
    /// does not hold j (dense rows offered every pair already). (−1, −∞) when the tile offers none.
    /// </summary>
    private static Match[] BestForB(CrossSums cross, Side a, Side b, long n, RowPass[] byChunk)
    {
        int width = b.Sum.Length;
        int[] SparseRows(int[] walk) => walk.Where(i => i >= cross.LowA && i < cross.HighA && !cross.IsDense(i)).ToArray();
        var (ascending, descending, byIndex) = (SparseRows(a.LiveByQ), SparseRows(a.LiveByQDescending), SparseRows(a.Live));
        var best = new Match[width];
        Parallel.For(0, width, Cores.OnePerCore, j =>
        {
            var top = new Match(-1, double.NegativeInfinity);
            if (b.Dead[j]) { best[j] = top; return; }
            foreach (var chunk in byChunk)
            {
                var m = new Match(chunk.BestIndexForB[j], chunk.BestCorrelationForB[j]);
                if (Better(m, top)) top = m;
            }
            foreach (var i in b.Sum[j] > 0 ? ascending : b.Sum[j] < 0 ? descending : byIndex)
            {
                if (cross.Get(i, j) != 0) continue;
                var m = new Match(i, -(a.Sum[i] * b.Sum[j] / n) * a.InvStd[i] * b.InvStd[j]);
                if (Better(m, top)) top = m;
                break;
            }
            best[j] = top;
        });
        return best;
    }

    private static Match Final(Match top) => top.Index >= 0 ? top : new Match(-1, 0.0);

    /// <summary>Higher correlation wins; equal correlations go to the lower index (the dense path's order).</summary>
    private static bool Better(Match m, Match than) =>
        m.Index >= 0 && (m.Correlation > than.Correlation || (m.Correlation == than.Correlation && (than.Index < 0 || m.Index < than.Index)));
}
