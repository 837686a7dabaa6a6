using Sweep.Analysis.Statistics;
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
    /// within a tile, per-block centred co-moments are merged exactly (Chan et al.), so blocks may come in any order.
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
            CorrelationTile? tile = null;
            foreach (var block in blocks())
            {
                var part = CorrelationTile.FromBlock(block, widthA, widthB, first, w, options.Precision);
                tile = tile is null ? part : tile.Merge(part);
            }
            if (tile is null) throw new ArgumentException("no rows to correlate");
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

    public static CorrelationTile FromBlock(RowBlock block, int widthA, int widthB, int first, int width, GemmPrecision precision)
    {
        int rows = block.Rows;
        if (block.A.Length != (long)rows * widthA || block.B.Length != (long)rows * widthB)
            throw new ArgumentException($"a block of {rows} rows must hold {rows} x {widthA} and {rows} x {widthB} values");
        using var scope = NewDisposeScope();
        var type = precision == GemmPrecision.Float64 ? float64 : float32;
        var a = tensor(block.A, new long[] { rows, widthA }).to(type);
        var b = tensor(block.B, new long[] { rows, widthB }).narrow(1, first, width).to(type);
        // Centre by the working-precision column means c (no cancellation in the GEMM), then correct exactly
        // for c not being the exact mean: with s = Σ(x − c), mean = c + s/n, Σ(x−x̄)(y−ȳ) = Σ(x−c)(y−d) − s_x s_yᵀ/n.
        var ca = a.mean(new long[] { 0 });
        var cb = b.mean(new long[] { 0 });
        var ac = a.sub_(ca);   // tensor() copied the block: centring in place touches only that copy
        var bc = b.sub_(cb);
        var sa = ac.sum(0L).to(float64);
        var sb = bc.sum(0L).to(float64);
        var co = ac.t().mm(bc).to(float64).sub_(sa.outer(sb).div_(rows));
        var m2a = linalg.vector_norm(ac, 2, new long[] { 0 }).to(float64).pow_(2).sub_(sa.square() / rows);
        var m2b = linalg.vector_norm(bc, 2, new long[] { 0 }).to(float64).pow_(2).sub_(sb.square() / rows);
        return new CorrelationTile(widthA, first, width)
        {
            Count = rows,
            _meanA = Array(ca.to(float64) + sa / rows), _m2A = Array(m2a),
            _meanB = Array(cb.to(float64) + sb / rows), _m2B = Array(m2b), _co = Array(co),
        };
    }

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
