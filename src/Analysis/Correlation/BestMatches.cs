using System.Runtime.CompilerServices;
namespace Sweep.Analysis.Correlation;

/// <summary>One feature's partner: the other side's feature index (−1 when there is none) and the Pearson correlation.</summary>
public readonly record struct Match(int Index, double Correlation);

/// <summary>
/// Best matches between the features of A and of B by Pearson correlation over aligned tokens, in both
/// directions, with optional top-k per A feature. Conventions: a dead feature (zero variance over the
/// tokens) has correlation 0 with everything, is flagged in <see cref="DeadA"/>/<see cref="DeadB"/>, is never
/// chosen as anyone's match, and its own match is (−1, 0). Ties go to the lower index.
/// </summary>
public sealed class BestMatches
{
    public required int WidthA { get; init; }
    public required int WidthB { get; init; }
    public required long Count { get; init; }
    /// <summary>For every feature of A, its most correlated live feature of B.</summary>
    public required Match[] AToB { get; init; }
    /// <summary>For every feature of B, its most correlated live feature of A.</summary>
    public required Match[] BToA { get; init; }
    /// <summary>Per A feature the k best live B features, best first (empty when top-k was not asked).</summary>
    public required Match[][] TopKAToB { get; init; }
    public required bool[] DeadA { get; init; }
    public required bool[] DeadB { get; init; }

    /// <summary>Pairs (a, b) that are each other's best match, in order of a.</summary>
    public IReadOnlyList<(int A, int B, double Correlation)> MutualPairs()
    {
        var pairs = new List<(int, int, double)>();
        for (int a = 0; a < WidthA; a++)
        {
            var m = AToB[a];
            if (m.Index >= 0 && BToA[m.Index].Index == a) pairs.Add((a, m.Index, m.Correlation));
        }
        return pairs;
    }

    public bool SameMatchesAs(BestMatches other) =>
        AToB.Select(m => m.Index).SequenceEqual(other.AToB.Select(m => m.Index))
        && BToA.Select(m => m.Index).SequenceEqual(other.BToA.Select(m => m.Index))
        && DeadA.SequenceEqual(other.DeadA) && DeadB.SequenceEqual(other.DeadB);
}

/// <summary>
/// Folds correlation tiles (all A features x a range of B columns) into best matches, so the full
/// A x B matrix never has to exist. Tiles must arrive in increasing column order (ties → lower index).
/// </summary>
public sealed class BestMatchAccumulator
{
    private readonly Match[] _aToB, _bToA;
    private readonly List<Match>[] _topK;
    private readonly int _k;
    private readonly bool[] _deadA, _deadB;
    private int _nextColumn;

    public BestMatchAccumulator(bool[] deadA, bool[] deadB, int topK = 0)
    {
        _deadA = deadA; _deadB = deadB; _k = topK;
        _aToB = Enumerable.Repeat(new Match(-1, 0.0), deadA.Length).ToArray();
        _bToA = Enumerable.Repeat(new Match(-1, 0.0), deadB.Length).ToArray();
        _topK = Enumerable.Range(0, topK > 0 ? deadA.Length : 0).Select(_ => new List<Match>(topK + 1)).ToArray();
    }

    /// <summary>Adds correlations of every A feature with B columns [<paramref name="firstColumn"/>, +width), row-major [widthA, width].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddTile(int firstColumn, int width, ReadOnlySpan<double> correlations)
    {
        if (firstColumn != _nextColumn) throw new InvalidOperationException($"tile starts at column {firstColumn}, expected {_nextColumn}");
        _nextColumn += width;
        for (int a = 0; a < _deadA.Length; a++)
        {
            if (_deadA[a]) continue;
            var row = correlations.Slice(a * width, width);
            for (int c = 0; c < width; c++)
            {
                int b = firstColumn + c;
                if (_deadB[b]) continue;
                double r = row[c];
                if (_aToB[a].Index < 0 || r > _aToB[a].Correlation) _aToB[a] = new Match(b, r);
                if (_bToA[b].Index < 0 || r > _bToA[b].Correlation) _bToA[b] = new Match(a, r);
                if (_k > 0) InsertTopK(_topK[a], new Match(b, r), _k);
            }
        }
    }

    /// <summary>Sets B's dead flags for columns [first, first + dead.Length) (streamed tiles learn them tile by tile; call before <see cref="AddTile"/>).</summary>
    public void MarkDeadB(int first, bool[] dead) => dead.CopyTo(_deadB, first);

    internal static void InsertTopK(List<Match> list, Match m, int k)
    {
        if (list.Count == k && m.Correlation <= list[^1].Correlation) return;
        int at = list.Count;
        while (at > 0 && m.Correlation > list[at - 1].Correlation) at--;
        list.Insert(at, m);
        if (list.Count > k) list.RemoveAt(k);
    }

    public BestMatches Finish(long count)
    {
        if (_nextColumn != _deadB.Length) throw new InvalidOperationException($"only {_nextColumn} of {_deadB.Length} columns were added");
        return new BestMatches
        {
            WidthA = _deadA.Length, WidthB = _deadB.Length, Count = count, AToB = _aToB, BToA = _bToA,
            TopKAToB = _topK.Select(l => l.ToArray()).ToArray(), DeadA = _deadA, DeadB = _deadB,
        };
    }
}

/// <summary>When a feature counts as dead: its centred sum of squares is 0 or lost in rounding of the raw second moment.</summary>
public static class DeadFeature
{
    public const double RelativeTolerance = 1e-12;

    public static bool IsDead(double centredSumOfSquares, double rawSumOfSquares) =>
        !(centredSumOfSquares > RelativeTolerance * rawSumOfSquares) || centredSumOfSquares <= 0;
}
