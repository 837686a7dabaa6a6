using Sweep.Analysis.Linear;

namespace Sweep.Analysis.Similarity;

public enum NeighbourMetric { Cosine, Euclidean }

/// <summary>Mean mutual k-nearest-neighbour overlap and mean Jaccard index of the kNN sets (both undefined together).</summary>
public sealed record KnnOverlap(Measurement Overlap, Measurement Jaccard, int K, int Items);

/// <summary>
/// Mutual k-nearest-neighbour alignment (Huh et al. 2024, "Platonic representations"). Rows are items
/// (the same in both matrices), columns units; no centring. For every item i, Nₓ(i) and N_y(i) are its k
/// nearest other items under the metric (cosine distance 1 − cos, or euclidean; ties broken by the lower
/// item index). Overlap = meanᵢ |Nₓ(i) ∩ N_y(i)| / k; Jaccard = meanᵢ |∩| / |∪|. Independent
/// representations give about k/(n−1). Needs all rows at once: O(n² d); jobs pass a bounded item sample.
/// Undefined when a side is constant: every item is every other's nearest neighbour, the sets are ties broken by index.
/// </summary>
public static class NearestNeighbours
{
    public static KnnOverlap Compute(DenseMatrix x, DenseMatrix y, int k = 10, NeighbourMetric metric = NeighbourMetric.Cosine)
    {
        if (x.Rows != y.Rows) throw new ArgumentException($"kNN overlap needs the same items on both sides, got {x.Rows} and {y.Rows} rows");
        if (k < 1 || k >= x.Rows) throw new ArgumentOutOfRangeException(nameof(k), $"k must be in 1..{x.Rows - 1} for {x.Rows} items");
        Statistics.FiniteValues.Require(x.Data, "A");
        Statistics.FiniteValues.Require(y.Data, "B");
        if (ConstantSides.Reason(x, y) is { } constant) return new KnnOverlap(Measurement.Undefined(constant), Measurement.Undefined(constant), k, x.Rows);
        var nx = Neighbours(x, k, metric);
        var ny = Neighbours(y, k, metric);
        double overlap = 0, jaccard = 0;
        for (int i = 0; i < x.Rows; i++)
        {
            int shared = nx[i].Intersect(ny[i]).Count();
            overlap += (double)shared / k;
            jaccard += (double)shared / (2 * k - shared);
        }
        return new KnnOverlap(overlap / x.Rows, jaccard / x.Rows, k, x.Rows);
    }

    /// <summary>The k nearest other rows of every row.</summary>
    public static int[][] Neighbours(DenseMatrix m, int k, NeighbourMetric metric)
    {
        int n = m.Rows, d = m.Cols;
        var rows = (double[])m.Data.Clone();
        var norms = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int c = 0; c < d; c++) s += rows[i * d + c] * rows[i * d + c];
            norms[i] = s;
        }
        var gram = Linalg.Multiply(rows, Linalg.Transpose(rows, n, d), n, d, n);
        var result = new int[n][];
        var distance = new double[n];
        var order = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double dot = gram[(long)i * n + j];
                distance[j] = metric == NeighbourMetric.Euclidean
                    ? norms[i] + norms[j] - 2 * dot
                    : norms[i] > 0 && norms[j] > 0 ? 1.0 - dot / Math.Sqrt(norms[i] * norms[j]) : 1.0;
                order[j] = j;
            }
            distance[i] = double.PositiveInfinity; // never its own neighbour
            var candidates = (int[])order.Clone();
            Array.Sort(candidates, (a, b) => distance[a] != distance[b] ? distance[a].CompareTo(distance[b]) : a.CompareTo(b));
            result[i] = candidates[..k];
        }
        return result;
    }
}
