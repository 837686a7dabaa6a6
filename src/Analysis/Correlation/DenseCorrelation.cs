using System.Runtime.CompilerServices;
using Sweep.Analysis.Statistics;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Analysis.Correlation;

/// <summary>Arithmetic of the per-block cross products: float64 throughout, or float32 GEMMs accumulated in float64.</summary>
public enum GemmPrecision { Float64, Float32 }

/// <summary>How a feature correlation is computed: memory for the correlation tiles, top-k per A feature, GEMM precision.</summary>
public sealed record CorrelationOptions(long MemoryBudgetBytes = CorrelationOptions.DefaultBudget, int TopK = 0, GemmPrecision Precision = GemmPrecision.Float64)
{
    public const long DefaultBudget = 512L << 20;

    /// <summary>Bytes held per B column of a tile: co-moment and correlation in float64 plus the GEMM output.</summary>
    public static long BytesPerColumn(int widthA) => widthA * 24L;

    /// <summary>Columns of B per tile so one tile stays within the budget.</summary>
    public int TileWidth(int widthA, int widthB)
    {
        long perColumn = BytesPerColumn(widthA);
        if (perColumn > MemoryBudgetBytes)
            throw new ArgumentException($"a memory budget of {MemoryBudgetBytes} bytes cannot hold one column of a correlation tile for {widthA} features (needs {perColumn})");
        return (int)Math.Min(widthB, MemoryBudgetBytes / perColumn);
    }
}

/// <summary>Aligned row blocks of A [Rows, widthA] and B [Rows, widthB], row-major float32 (one shard, or part of one).</summary>
public sealed record RowBlock(float[] A, float[] B, int Rows);

/// <summary>
/// Pearson correlation between every feature (column) of A and every feature of B over the same rows
/// (tokens), each column centred over the rows: r = Σ(a−ā)(b−b̄) / √(Σ(a−ā)² Σ(b−b̄)²). Computed tile by
/// tile (all of A against a range of B's columns) within <see cref="CorrelationOptions.MemoryBudgetBytes"/>,
/// and folded into <see cref="BestMatches"/>; the full matrix never exists.
/// </summary>
public static class DenseCorrelation
{
    /// <summary>From statistics that already hold XᵀY (widths small enough for that); tiles bound the correlation buffers.</summary>
    public static BestMatches FromStatistics(DensePairStatistics stats, CorrelationOptions? options = null)
    {
        options ??= new CorrelationOptions();
        int fa = stats.WidthX, fb = stats.WidthY;
        long n = stats.Count;
        var varA = new double[fa];
        var varB = new double[fb];
        var deadA = new bool[fa];
        var deadB = new bool[fb];
        for (int i = 0; i < fa; i++) { double raw = stats.XtX[i * fa + i]; varA[i] = raw - stats.SumX[i] * stats.SumX[i] / n; deadA[i] = DeadFeature.IsDead(varA[i], raw); }
        for (int j = 0; j < fb; j++) { double raw = stats.YtY[j * fb + j]; varB[j] = raw - stats.SumY[j] * stats.SumY[j] / n; deadB[j] = DeadFeature.IsDead(varB[j], raw); }
        var accumulator = new BestMatchAccumulator(deadA, deadB, options.TopK);
        int width = options.TileWidth(fa, fb);
        var tile = new double[fa * width];
        for (int first = 0; first < fb; first += width)
        {
            int w = Math.Min(width, fb - first);
            for (int i = 0; i < fa; i++)
                for (int c = 0; c < w; c++)
                {
                    int j = first + c;
                    double cov = stats.XtY[i * fb + j] - stats.SumX[i] * stats.SumY[j] / n;
                    tile[i * w + c] = deadA[i] || deadB[j] ? 0.0 : cov / Math.Sqrt(varA[i] * varB[j]);
                }
            accumulator.AddTile(first, w, tile.AsSpan(0, fa * w));
        }
        return accumulator.Finish(n);
    }

    /// <summary>
    /// Streams the row blocks once per tile of B's columns (<paramref name="blocks"/> is called once per tile);
    /// blocks may come in any order (see <see cref="CorrelationTile.FromBlocks"/>).
    /// </summary>
    public static BestMatches Stream(int widthA, int widthB, Func<IEnumerable<RowBlock>> blocks, CorrelationOptions? options = null)
    {
        options ??= new CorrelationOptions();
        int width = options.TileWidth(widthA, widthB);
        BestMatchAccumulator? accumulator = null;
        long count = 0;
        for (int first = 0; first < widthB; first += width)
        {
            int w = Math.Min(width, widthB - first);
            var tile = CorrelationTile.FromBlocks(blocks(), widthA, widthB, first, w, options.Precision);
            var (correlations, deadA, deadB) = tile.Correlations();
            if (accumulator is null)
            {
                accumulator = new BestMatchAccumulator(deadA, new bool[widthB], options.TopK);
                count = tile.Count;
            }
            accumulator.MarkDeadB(first, deadB);
            accumulator.AddTile(first, w, correlations);
        }
        return accumulator!.Finish(count);
    }
}

/// <summary>
/// Mergeable statistics of all A features against B columns [First, First + Width): n, column means,
/// centred sums of squares, and the centred co-moment Σ(a−ā)(b−b̄) [widthA, Width], float64.
/// Merge is Chan et al.'s pairwise update, exact in real arithmetic, so any split and order agree.
/// </summary>
public sealed class CorrelationTile
{
    public int WidthA { get; }
    public int First { get; }
    public int Width { get; }
    public long Count { get; private init; }
    private double[] _meanA = [], _m2A = [], _meanB = [], _m2B = [], _co = [];

    private CorrelationTile(int widthA, int first, int width) { WidthA = widthA; First = first; Width = width; }

    /// <summary>The tile's moments: column means and centred sums of squares of both sides, and the centred co-moment [WidthA, Width].</summary>
    internal (double[] MeanA, double[] M2A, double[] MeanB, double[] M2B, double[] Co) Moments => (_meanA, _m2A, _meanB, _m2B, _co);

    /// <summary>A tile from its <see cref="Moments"/> (a partial read back from its file).</summary>
    internal static CorrelationTile FromMoments(int widthA, int first, int width, long count, double[] meanA, double[] m2A, double[] meanB, double[] m2B, double[] co) =>
        new(widthA, first, width) { Count = count, _meanA = meanA, _m2A = m2A, _meanB = meanB, _m2B = m2B, _co = co };

    /// <summary>
    /// The tile's statistics over a stream of row blocks. Every block is shifted by the first block's column means
    /// (c, d) in the working precision, so the GEMM sees nearly centred data and does not cancel; its products, the
    /// shifted sums s = Σ(x − c) and the shifted squares are accumulated in float64 across blocks, and the exact
    /// centred moments follow at the end: mean = c + s/n, Σ(x−x̄)(y−ȳ) = Σ(x−c)(y−d) − s_x s_yᵀ/n. One GEMM per
    /// block, a few passes over its rows, and no per-block copies of the [widthA, width] co-moments.
    /// </summary>
    public static CorrelationTile FromBlocks(IEnumerable<RowBlock> blocks, int widthA, int widthB, int first, int width, GemmPrecision precision)
    {
        using var scope = NewDisposeScope();
        // TorchSharp 0.107 does not keep an implicitly converted Scalar (the alpha of 1 in add_, a number passed to
        // div) alive while libtorch reads it, so a GC on another thread can free it mid-call: every Scalar here is
        // held by a using until its calls have returned.
        using Scalar one = 1;
        var type = precision == GemmPrecision.Float64 ? float64 : float32;
        using var rowsA = new Workspace(type, widthA);
        using var rowsB = new Workspace(type, width);
        Tensor? shiftA = null, shiftB = null;
        var cross = zeros(widthA, width, float64);
        Tensor sumA = zeros(widthA, float64), squaresA = zeros(widthA, float64), sumB = zeros(width, float64), squaresB = zeros(width, float64);
        long count = 0;
        foreach (var block in blocks)
        {
            int rows = block.Rows;
            if (block.A.Length != (long)rows * widthA || block.B.Length != (long)rows * widthB)
                throw new ArgumentException($"a block of {rows} rows must hold {rows} x {widthA} and {rows} x {widthB} values");
            if (rows == 0) continue;
            using var blockScope = NewDisposeScope();
            // from_array shares the block's memory: it is only read, into the reused workspaces.
            var a = rowsA.Rows(rows).copy_(from_array(block.A).view(rows, widthA));
            var b = rowsB.Rows(rows).copy_(from_array(block.B).view(rows, widthB).narrow(1, first, width));
            shiftA ??= a.mean(new long[] { 0 }).MoveToOuterDisposeScope();
            shiftB ??= b.mean(new long[] { 0 }).MoveToOuterDisposeScope();
            a.sub_(shiftA);
            b.sub_(shiftB);
            cross.add_(a.t().mm(b), one);
            sumA.add_(a.sum(0L), one);
            sumB.add_(b.sum(0L), one);
            squaresA.add_(a.mul_(a).sum(0L), one);   // the shifted rows are not needed after this
            squaresB.add_(b.mul_(b).sum(0L), one);
            count += rows;
        }
        if (count == 0) throw new ArgumentException("no rows to correlate");
        using Scalar n = (double)count;
        return new CorrelationTile(widthA, first, width)
        {
            Count = count,
            _meanA = Array(shiftA!.to(float64).add_(sumA.div(n), one)), _m2A = Array(squaresA.sub(sumA.mul(sumA).div_(n))),
            _meanB = Array(shiftB!.to(float64).add_(sumB.div(n), one)), _m2B = Array(squaresB.sub(sumB.mul(sumB).div_(n))),
            _co = Array(cross.sub_(sumA.outer(sumB).div_(n))),
        };
    }

    /// <summary>
    /// A reused [rows, columns] working tensor: a fresh one per block would be fresh pages from the system each time,
    /// and the page faults cost as much as the copy into it.
    /// </summary>
    private sealed class Workspace(ScalarType type, long columns) : IDisposable
    {
        private Tensor? _buffer;

        public Tensor Rows(long rows)
        {
            if (_buffer is null || _buffer.shape[0] < rows)
            {
                _buffer?.Dispose();
                _buffer = empty(rows, columns, type).DetachFromDisposeScope();
            }
            return _buffer.narrow(0, 0, rows);
        }

        public void Dispose() => _buffer?.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public CorrelationTile Merge(CorrelationTile other)
    {
        if (other.WidthA != WidthA || other.First != First || other.Width != Width) throw new ArgumentException("cannot merge different correlation tiles");
        if (Count == 0) return other;
        if (other.Count == 0) return this;
        long n = Count + other.Count;
        double f = (double)Count * other.Count / n, g = (double)other.Count / n;
        var dA = new double[WidthA];
        var dB = new double[Width];
        var merged = new CorrelationTile(WidthA, First, Width)
        {
            Count = n, _meanA = new double[WidthA], _m2A = new double[WidthA], _meanB = new double[Width], _m2B = new double[Width], _co = new double[_co.Length],
        };
        for (int i = 0; i < WidthA; i++)
        {
            dA[i] = other._meanA[i] - _meanA[i];
            merged._meanA[i] = _meanA[i] + dA[i] * g;
            merged._m2A[i] = _m2A[i] + other._m2A[i] + f * dA[i] * dA[i];
        }
        for (int j = 0; j < Width; j++)
        {
            dB[j] = other._meanB[j] - _meanB[j];
            merged._meanB[j] = _meanB[j] + dB[j] * g;
            merged._m2B[j] = _m2B[j] + other._m2B[j] + f * dB[j] * dB[j];
        }
        for (int i = 0; i < WidthA; i++)
        {
            double fa = f * dA[i];
            int row = i * Width;
            for (int j = 0; j < Width; j++) merged._co[row + j] = _co[row + j] + other._co[row + j] + fa * dB[j];
        }
        return merged;
    }

    /// <summary>The correlation tile [WidthA, Width] (0 where a side is dead) and the dead flags of both sides.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public (double[] Correlations, bool[] DeadA, bool[] DeadB) Correlations()
    {
        var deadA = new bool[WidthA];
        var deadB = new bool[Width];
        for (int i = 0; i < WidthA; i++) deadA[i] = DeadFeature.IsDead(_m2A[i], _m2A[i] + Count * _meanA[i] * _meanA[i]);
        for (int j = 0; j < Width; j++) deadB[j] = DeadFeature.IsDead(_m2B[j], _m2B[j] + Count * _meanB[j] * _meanB[j]);
        var r = new double[_co.Length];
        for (int i = 0; i < WidthA; i++)
            for (int j = 0; j < Width; j++)
                r[i * Width + j] = deadA[i] || deadB[j] ? 0.0 : _co[i * Width + j] / Math.Sqrt(_m2A[i] * _m2B[j]);
        return (r, deadA, deadB);
    }

    private static double[] Array(Tensor t) => t.contiguous().data<double>().ToArray();
}
