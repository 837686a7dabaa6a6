namespace Sweep.Analysis.Matching;

/// <summary>
/// Minimum-cost assignment (Hungarian method, Kuhn–Munkres with potentials, O(r²c)) on a row-major
/// rows x cols cost matrix with rows ≤ cols: every row gets a distinct column. To maximise a score,
/// pass its negation. Returns the column of each row.
/// </summary>
public static class Hungarian
{
    public static int[] Solve(double[] cost, int rows, int cols)
    {
        if (rows > cols)
        {
            // Assign columns to rows on the transpose, then invert (rows beyond cols stay unassigned: −1).
            var t = new double[cost.Length];
            for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) t[j * rows + i] = cost[i * cols + j];
            var colToRow = Solve(t, cols, rows);
            var rowToCol = Enumerable.Repeat(-1, rows).ToArray();
            for (int j = 0; j < cols; j++) rowToCol[colToRow[j]] = j;
            return rowToCol;
        }
        // 1-based potentials formulation (e-maxx): u rows, v columns, p[j] row matched to column j.
        var u = new double[rows + 1];
        var v = new double[cols + 1];
        var p = new int[cols + 1];
        var way = new int[cols + 1];
        for (int i = 1; i <= rows; i++)
        {
            p[0] = i;
            int j0 = 0;
            var minv = Enumerable.Repeat(double.PositiveInfinity, cols + 1).ToArray();
            var used = new bool[cols + 1];
            do
            {
                used[j0] = true;
                int i0 = p[j0], j1 = 0;
                double delta = double.PositiveInfinity;
                for (int j = 1; j <= cols; j++)
                {
                    if (used[j]) continue;
                    double cur = cost[(i0 - 1) * cols + (j - 1)] - u[i0] - v[j];
                    if (cur < minv[j]) { minv[j] = cur; way[j] = j0; }
                    if (minv[j] < delta) { delta = minv[j]; j1 = j; }
                }
                for (int j = 0; j <= cols; j++)
                    if (used[j]) { u[p[j]] += delta; v[j] -= delta; }
                    else minv[j] -= delta;
                j0 = j1;
            } while (p[j0] != 0);
            do { int j1 = way[j0]; p[j0] = p[j1]; j0 = j1; } while (j0 != 0);
        }
        var assignment = new int[rows];
        for (int j = 1; j <= cols; j++) if (p[j] != 0) assignment[p[j] - 1] = j - 1;
        return assignment;
    }
}
