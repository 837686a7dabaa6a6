using Sweep.Analysis.Correlation;
using Sweep.Analysis.Measures;

namespace Sweep.Analysis.Features;

/// <summary>
/// One co-activation partner: feature <see cref="Partner"/> is <see cref="Feature"/>'s <see cref="Rank"/>-th best by
/// <see cref="Measure"/> (<c>correlation</c>: Pearson r of the codes over all tokens; <c>jaccard</c>: |both fire| /
/// |either fires|), with <see cref="CoFirings"/> tokens where both fire.
/// </summary>
public sealed record CoActivationPartner(int Feature, string Measure, int Rank, int Partner, double Value, long CoFirings)
{
    public const string Correlation = "correlation";
    public const string Jaccard = "jaccard";
}

/// <summary>
/// Co-activation within one SAE: for each feature of a tile — the features f with f mod <see cref="Tiles"/> =
/// <see cref="Tile"/>, interleaved so that tiles hold about equal shares of the co-active pairs even when feature
/// frequency follows the index — its top partners among all the SAE's features, by correlation and by Jaccard of firing sets,
/// exactly, from the co-active sparse machinery of <see cref="SparsePairStatistics"/> with the tile as side A and the
/// whole SAE as side B (the same site read once: A×A is the A×B computation with B = A, no second attachment):
/// <list type="bullet">
/// <item><see cref="Values"/>: n, Σv, Σv² and the co-active cross sums Σ aᵢaⱼ of the codes → Pearson r, ranked by
/// <see cref="SparseCorrelation"/>'s exact top-k;</item>
/// <item><see cref="Firings"/>: the same over the firing indicators (1 where a code is &gt; 0) → per feature its firing
/// count nᵢ and per co-active pair cᵢⱼ, so J = cᵢⱼ / (nᵢ + nⱼ − cᵢⱼ).</item>
/// </list>
/// Conventions: a feature is never its own partner; only partners with r &gt; 0 (resp. J &gt; 0) are listed — for
/// non-negative codes a pair that never fires together has r ≤ 0 and J = 0, so every listed partner is co-active;
/// ties go to the lower partner index; a dead feature (zero variance) has no correlation partners.
/// Memory: two cross-sum sets of the tile's rows (the sparsity pattern of both is the co-active pairs); split the SAE
/// into tiles to bound it (each tile one pass over the shards): with two tiles a tile holds about as much as one
/// <c>correlation</c> of the site.
/// </summary>
public sealed class CoActivation
{
    public int Width { get; }
    public int Tile { get; }
    public int Tiles { get; }
    /// <summary>Features in the tile: Tile, Tile + Tiles, Tile + 2·Tiles, … below Width.</summary>
    public int Count { get; }
    public SparsePairStatistics Values { get; }
    public SparsePairStatistics Firings { get; }

    private CoActivation(int width, int tile, int tiles, SparsePairStatistics values, SparsePairStatistics firings)
    {
        Width = width; Tile = tile; Tiles = tiles; Count = CountOf(width, tile, tiles); Values = values; Firings = firings;
    }

    /// <summary>The feature of the tile's local row <paramref name="i"/>.</summary>
    public int FeatureOf(int i) => Tile + i * Tiles;

    private static int CountOf(int width, int tile, int tiles) => (width - tile + tiles - 1) / tiles;

    /// <summary>The statistics of consecutive blocks of SAE codes taken as one (one sparse product per statistic), for tile <paramref name="tile"/> of <paramref name="tiles"/>.</summary>
    public static CoActivation Of(IReadOnlyList<FeatureBlock> blocks, int tile = 0, int tiles = 1)
    {
        if (blocks.Count == 0) throw new ArgumentException("no blocks of codes");
        return Of(blocks.Select(block => block.Sparse
            ?? throw new ArgumentException("co-activation needs SAE codes (a sparse site); for a dense site use the correlation analysis of the site with itself")).ToList(), tile, tiles);
    }

    /// <summary>As <see cref="Of(IReadOnlyList{FeatureBlock}, int, int)"/>, from the codes alone.</summary>
    public static CoActivation Of(IReadOnlyList<SparseRows> blocks, int tile = 0, int tiles = 1)
    {
        if (blocks.Count == 0) throw new ArgumentException("no blocks of codes");
        int width = blocks[0].Width;
        CheckTile(width, tile, tiles);
        var values = new List<(SparseRows, SparseRows)>();
        var firings = new List<(SparseRows, SparseRows)>();
        foreach (var codes in blocks)
        {
            if (codes.Width != width) throw new ArgumentException($"blocks of width {codes.Width} among blocks of width {width}");
            var indicator = Indicator(codes);
            values.Add((TileRows(codes, tile, tiles), codes));
            firings.Add((TileRows(indicator, tile, tiles), indicator));
        }
        return new CoActivation(width, tile, tiles, SparsePairStatistics.FromBlocks(values), SparsePairStatistics.FromBlocks(firings));
    }

    /// <summary>
    /// Tile <paramref name="tile"/> of <paramref name="tiles"/> over a stream of blocks of codes (a map unit's shards),
    /// as <see cref="SparseCorrelationMeasure.Statistics"/> folds the <c>correlation</c> of two SAEs: consecutive blocks
    /// gathered into batches of about <see cref="SparseCorrelationMeasure.BatchEntries"/> codes, each batch's sparse
    /// products added into the two statistics in place (<see cref="SparsePairStatistics.Add"/>): memory is the
    /// statistics plus one batch, no partial or merged copy of the pairs is made.
    /// </summary>
    public static CoActivation Fold(IEnumerable<SparseRows> blocks, int width, int tile, int tiles, long batchEntries = SparseCorrelationMeasure.BatchEntries)
    {
        CheckTile(width, tile, tiles);
        int count = CountOf(width, tile, tiles);
        var folded = new CoActivation(width, tile, tiles, SparsePairStatistics.Empty(count, width), SparsePairStatistics.Empty(count, width));
        var values = new List<(SparseRows, SparseRows)>();
        var firings = new List<(SparseRows, SparseRows)>();
        long entries = 0;
        bool any = false;
        void Flush()
        {
            folded.Values.Add(values);
            folded.Firings.Add(firings);
            values.Clear();
            firings.Clear();
            entries = 0;
        }
        foreach (var codes in blocks)
        {
            if (codes.Width != width) throw new ArgumentException($"codes of width {codes.Width} folded into co-activation of width {width}");
            any = true;
            var indicator = Indicator(codes);
            values.Add((TileRows(codes, tile, tiles), codes));
            firings.Add((TileRows(indicator, tile, tiles), indicator));
            // Each code is an entry of the whole SAE's side, a tile's share of them of the tile's side.
            entries += codes.Indices.Length + codes.Indices.Length / tiles;
            if (entries >= batchEntries) Flush();
        }
        if (!any) throw new ArgumentException("no blocks of codes");
        if (values.Count > 0) Flush();
        return folded;
    }

    private static void CheckTile(int width, int tile, int tiles)
    {
        if (tiles < 1 || tiles > width || tile < 0 || tile >= tiles) throw new ArgumentOutOfRangeException(nameof(tile), $"tile {tile} of {tiles} for {width} features");
    }

    public CoActivation Merge(CoActivation other)
    {
        CheckSameTile(other);
        return new CoActivation(Width, Tile, Tiles, Values.Merge(other.Values), Firings.Merge(other.Firings));
    }

    /// <summary>As <see cref="Merge"/>, for partials nobody else holds: neither operand may be used again.</summary>
    public CoActivation MergeConsuming(CoActivation other)
    {
        CheckSameTile(other);
        return new CoActivation(Width, Tile, Tiles, Values.MergeConsuming(other.Values), Firings.MergeConsuming(other.Firings));
    }

    private void CheckSameTile(CoActivation other)
    {
        if (other.Width != Width || other.Tile != Tile || other.Tiles != Tiles)
            throw new ArgumentException($"cannot merge co-activation of tile {Tile}/{Tiles} and tile {other.Tile}/{other.Tiles}");
    }

    /// <summary>Partial sections: the values' sparse statistics, then the firing indicators' (each as <see cref="SparseStatisticsCodec"/> writes them).</summary>
    public void Write(PartialWriter w)
    {
        SparseStatisticsCodec.Write(Values, w);
        SparseStatisticsCodec.Write(Firings, w);
    }

    public static CoActivation Read(PartialReader r, int width, int tile, int tiles)
    {
        CheckTile(width, tile, tiles);
        int count = CountOf(width, tile, tiles);
        return new CoActivation(width, tile, tiles, SparseStatisticsCodec.Read(count, width, r), SparseStatisticsCodec.Read(count, width, r));
    }

    /// <summary>Approximate memory held, in bytes.</summary>
    public long Bytes => Values.Bytes + Firings.Bytes;

    /// <summary>Per tile feature (in feature order) its top <paramref name="k"/> partners by correlation, then by Jaccard.</summary>
    public IReadOnlyList<CoActivationPartner> Finish(int k)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), k, "at least one partner");
        var byCorrelation = SparseCorrelation.BestMatches(Values, k + 1);   // + 1: the feature itself is among them
        var partners = new List<CoActivationPartner>();
        for (int i = 0; i < Count; i++)
        {
            int feature = FeatureOf(i);
            int rank = 0;
            foreach (var m in byCorrelation.TopKAToB[i])
            {
                if (m.Index == feature || !(m.Correlation > 0)) continue;
                if (++rank > k) break;
                partners.Add(new CoActivationPartner(feature, CoActivationPartner.Correlation, rank, m.Index, m.Correlation, CoFirings(i, m.Index)));
            }
            rank = 0;
            foreach (var (partner, jaccard, both) in TopJaccard(i, k))
                partners.Add(new CoActivationPartner(feature, CoActivationPartner.Jaccard, ++rank, partner, jaccard, both));
        }
        return partners;
    }

    private long CoFirings(int i, int j) => (long)Firings.Cross.Get(i, j);

    /// <summary>Tile feature i's best partners by Jaccard, from its co-firing counts (exact integers in float64).</summary>
    private List<(int Partner, double Jaccard, long Both)> TopJaccard(int i, int k)
    {
        var cross = Firings.Cross;
        double ni = Firings.SumA[i];
        var fired = Firings.SumB;
        var best = new List<(int Partner, double Jaccard, long Both)>(k + 1);
        void Offer(int j, double both)
        {
            if (j == FeatureOf(i) || both <= 0) return;
            double jaccard = both / (ni + fired[j] - both);
            // Higher J first, ties to the lower index; candidates arrive in ascending j, so ">" keeps the earlier one.
            if (best.Count == k && !(jaccard > best[^1].Jaccard)) return;
            int at = best.Count;
            while (at > 0 && jaccard > best[at - 1].Jaccard) at--;
            best.Insert(at, (j, jaccard, (long)both));
            if (best.Count > k) best.RemoveAt(k);
        }
        var values = cross.Values(i);
        if (cross.IsDense(i)) for (int j = 0; j < values.Length; j++) Offer(j, values[j]);
        else
        {
            var columns = cross.Columns(i);
            for (int c = 0; c < columns.Length; c++) Offer(columns[c], values[c]);
        }
        return best;
    }

    /// <summary>1 for every code &gt; 0 (stored zeros left out): the firing indicator in the same CSR layout.</summary>
    private static SparseRows Indicator(SparseRows codes)
    {
        if (Array.TrueForAll(codes.Values, v => v > 0))
        {
            // Every stored code fires (SAE shards store only non-zero codes): same layout, the codes' arrays shared.
            var all = new float[codes.Values.Length];
            Array.Fill(all, 1f);
            return new SparseRows(codes.Width, codes.Offsets, codes.Indices, all);
        }
        var offsets = new int[codes.Offsets.Length];
        var indices = new List<int>(codes.Indices.Length);
        for (int t = 0; t < codes.Rows; t++)
        {
            for (int i = codes.Offsets[t]; i < codes.Offsets[t + 1]; i++)
                if (codes.Values[i] > 0) indices.Add(codes.Indices[i]);
            offsets[t + 1] = indices.Count;
        }
        var ones = new float[indices.Count];
        Array.Fill(ones, 1f);
        return new SparseRows(codes.Width, offsets, indices.ToArray(), ones);
    }

    /// <summary>The tile's features of the codes (f mod tiles = tile), renumbered (f - tile) / tiles.</summary>
    private static SparseRows TileRows(SparseRows codes, int tile, int tiles)
    {
        if (tiles == 1) return codes;
        var offsets = new int[codes.Offsets.Length];
        var indices = new List<int>();
        var values = new List<float>();
        for (int t = 0; t < codes.Rows; t++)
        {
            for (int i = codes.Offsets[t]; i < codes.Offsets[t + 1]; i++)
                if (codes.Indices[i] % tiles == tile) { indices.Add(codes.Indices[i] / tiles); values.Add(codes.Values[i]); }
            offsets[t + 1] = indices.Count;
        }
        return new SparseRows(CountOf(codes.Width, tile, tiles), offsets, indices.ToArray(), values.ToArray());
    }
}
