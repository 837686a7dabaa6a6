using System.Text.Json;
using Sweep.Analysis;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Similarity;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Models.Saes;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Actors.Execution;

/// <summary>
/// Compares two captured sites over the whole corpus with the analysis' measure: every corpus shard is one
/// block of aligned rows, folded into mergeable statistics (or a seeded item sample, or correlation tiles)
/// by <see cref="PairMeasures"/>; the result becomes metric rows, and for <c>correlation</c> feature-match rows.
/// </summary>
public sealed class PairAnalysisExecutor(RunContext run) : IUnitExecutor
{
    private readonly SaeRun _saes = new(run);

    public const string LinearCkaMeasure = "cka_linear";

    public Task<UnitResult> ExecuteAsync(WorkUnit unit, CancellationToken cancellationToken)
    {
        var analysis = (AnalysisUnit)unit.Payload;
        var spec = run.Spec.Analyses.FirstOrDefault(a => a.Name == analysis.Analysis)
            ?? throw new PermanentUnitFailure($"analysis '{analysis.Analysis}' is not in the job");
        var saeA = SitePairing.FindSaeSite(run.Spec, analysis.A);
        var saeB = SitePairing.FindSaeSite(run.Spec, analysis.B);
        if (saeA is not null || saeB is not null)
        {
            if (saeA is null || saeB is null) throw new PermanentUnitFailure($"{analysis.A} ~ {analysis.B}: an SAE site is compared only with another SAE site");
            return Task.FromResult(ExecuteSparse(analysis, spec, saeA, saeB, cancellationToken));
        }
        var kind = PairMeasures.Parse(analysis.Kind) ?? throw new PermanentUnitFailure($"analysis kind '{analysis.Kind}' has no executor");
        int widthA = run.Spec.Model(analysis.A.Model).Descriptor.HiddenSize;
        int widthB = run.Spec.Model(analysis.B.Model).Descriptor.HiddenSize;

        var result = PairMeasures.Compute(kind, Settings(spec.Parameters), widthA, widthB, () => Blocks(analysis, cancellationToken));
        var metrics = result.Values.Select(v => new MetricRow(analysis.Analysis, v.Measure, analysis.A.Model, analysis.A.Site,
            analysis.B.Model, analysis.B.Site, v.Value, v.Count, JsonSerializer.Serialize(v.Parameters), v.UndefinedReason)).ToList();
        var matches = result.Matches is { } m ? MatchRows(analysis, m) : null;
        return Task.FromResult(new UnitResult(new UnitOutput(Metrics: metrics, FeatureMatches: matches), Reused: false));
    }

    /// <summary>Correlation (and feature matching) between two SAE code sites, from their sparse shards.</summary>
    private UnitResult ExecuteSparse(AnalysisUnit analysis, AnalysisSpec spec, SaeSite a, SaeSite b, CancellationToken cancellationToken)
    {
        if (spec.Kind != AnalysisKind.Correlation && spec.Kind != AnalysisKind.FeatureMatching)
            throw new PermanentUnitFailure($"analysis kind '{analysis.Kind}' does not run on SAE sites");
        var stats = SparseCorrelationMeasure.Statistics(SparseBlocks(a, b, cancellationToken));
        if (spec.Kind == AnalysisKind.FeatureMatching)
            return new FeatureMatchingRun(run, _saes, analysis, spec.Parameters, a, b).Execute(stats, cancellationToken);
        var result = SparseCorrelationMeasure.Compute(stats, spec.Parameters.TopK);
        var metrics = result.Values.Select(v => new MetricRow(analysis.Analysis, v.Measure, analysis.A.Model, analysis.A.Site,
            analysis.B.Model, analysis.B.Site, v.Value, v.Count, JsonSerializer.Serialize(v.Parameters), v.UndefinedReason)).ToList();
        return new UnitResult(new UnitOutput(Metrics: metrics, FeatureMatches: MatchRows(analysis, result.Matches!)), Reused: false);
    }

    /// <summary>Per corpus shard, the aligned sparse codes of both SAE sites.</summary>
    private IEnumerable<(SparseRows A, SparseRows B)> SparseBlocks(SaeSite a, SaeSite b, CancellationToken cancellationToken)
    {
        for (int shard = 0; shard < run.Corpus.Shards.Count; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var x = ReadSparse(_saes, a, shard);
            var y = ReadSparse(_saes, b, shard);
            EnsureAligned(x.Metadata, y.Metadata, x.Rows == y.Rows && x.Seq.AsSpan().SequenceEqual(y.Seq) && x.Pos.AsSpan().SequenceEqual(y.Pos) && x.Token.AsSpan().SequenceEqual(y.Token));
            yield return (Rows(x), Rows(y));
        }
    }

    public static SparseRows Rows(SparseShard shard) => new(shard.Metadata.Width, shard.Offsets, shard.Indices, shard.Values);

    /// <summary>One corpus shard's codes of an SAE site, as the capture wrote them (checked by cache key).</summary>
    public static SparseShard ReadSparse(SaeRun saes, SaeSite site, int shardIndex)
    {
        var config = Folder(saes, site).Config;
        var identity = new SaeIdentity(site.Name, saes.DigestOf(site.Name), site.Hook, site.Codes, config.ArchitectureName, config.NeuronpediaId ?? "");
        var metadata = saes.SparseMetadata(site.Ref.Model, site.Hook, shardIndex, identity, site.DSae);
        var path = saes.Run.ShardPath(metadata);
        var shard = SparseShardFile.Read(path);
        if (shard.Metadata.CacheKey() != metadata.CacheKey())
            throw new InvalidDataException($"{path}: holds other codes than {site.Ref} shard {shardIndex} of this run");
        return shard;
    }

    /// <summary>The SAE folder of a site: the published one, or where this run's training wrote it.</summary>
    public static SaeLoader.SaeFolder Folder(SaeRun saes, SaeSite site)
    {
        if (site.Published is { } published) return published.Folder;
        try { return SaeLoader.Describe(saes.TrainedFolder(site.Trained!)); }
        catch (SaeLoadException e) { throw new PermanentUnitFailure($"trained SAE '{site.Name}': {e.Message}", e); }
    }

    public static MeasureSettings Settings(AnalysisParameters p) => new()
    {
        KeepVariance = p.KeepVariance,
        Inner = p.Inner switch { RsaInner.Cosine => InnerDissimilarity.Cosine, RsaInner.Euclidean => InnerDissimilarity.Euclidean, _ => InnerDissimilarity.Correlation },
        Outer = p.Outer switch { RsaOuter.Pearson => OuterCorrelation.Pearson, RsaOuter.Kendall => OuterCorrelation.Kendall, _ => OuterCorrelation.Spearman },
        K = p.K,
        Metric = p.Metric == KnnMetric.Euclidean ? NeighbourMetric.Euclidean : NeighbourMetric.Cosine,
        MaxItems = p.MaxItems,
        Seed = p.Seed,
        TopK = p.TopK,
        MemoryBudgetBytes = (long)p.MemoryMb << 20,
        Precision = p.Precision == CorrelationPrecision.Float32 ? GemmPrecision.Float32 : GemmPrecision.Float64,
    };

    private IEnumerable<ItemBlock> Blocks(AnalysisUnit analysis, CancellationToken cancellationToken)
    {
        for (int shard = 0; shard < run.Corpus.Shards.Count; shard++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var a = ReadShard(analysis.A, shard);
            var b = ReadShard(analysis.B, shard);
            EnsureAligned(a, b);
            // A token's id is its corpus-wide (sequence, position): the item sample keeps the same tokens however the corpus is sharded.
            var ids = new long[a.Rows];
            for (int r = 0; r < a.Rows; r++) ids[r] = ((long)a.Seq[r] << 32) | (uint)a.Pos[r];
            yield return new ItemBlock(a.Act, b.Act, a.Rows, ids);
        }
    }

    /// <summary>Rank-1 rows for every feature in both directions, plus ranks 2..k of A → B when top_k asks for them.</summary>
    internal static List<FeatureMatchRow> MatchRows(AnalysisUnit u, BestMatches m)
    {
        var rows = new List<FeatureMatchRow>(m.WidthA + m.WidthB);
        FeatureMatchRow Row(string direction, int feature, int rank, Match match, bool mutual, bool dead) =>
            new(u.Analysis, u.A.Model, u.A.Site, u.B.Model, u.B.Site, direction, feature, rank,
                match.Index >= 0 ? match.Index : null, match.Correlation, mutual, dead);
        for (int a = 0; a < m.WidthA; a++)
        {
            var best = m.AToB[a];
            rows.Add(Row(SweepDatabase.AToB, a, 1, best, best.Index >= 0 && m.BToA[best.Index].Index == a, m.DeadA[a]));
            if (m.TopKAToB.Length > 0)
                for (int r = 1; r < m.TopKAToB[a].Length; r++) rows.Add(Row(SweepDatabase.AToB, a, r + 1, m.TopKAToB[a][r], false, false));
        }
        for (int b = 0; b < m.WidthB; b++)
        {
            var best = m.BToA[b];
            rows.Add(Row(SweepDatabase.BToA, b, 1, best, best.Index >= 0 && m.AToB[best.Index].Index == b, m.DeadB[b]));
        }
        return rows;
    }

    private DenseShard ReadShard(SiteRef site, int shardIndex)
    {
        var metadata = run.ShardMetadataFor(site.Model, site.Site, shardIndex);
        var shard = DenseShardFile.Read(run.ShardPath(metadata));
        if (shard.Metadata.CacheKey() != metadata.CacheKey())
            throw new InvalidDataException($"{run.ShardPath(metadata)}: holds other activations than {site} shard {shardIndex} of this run");
        if (Sweep.Analysis.Statistics.FiniteValues.CountNonFinite(shard.Act) is > 0 and var bad)
            throw new PermanentUnitFailure($"{run.ShardPath(metadata)}: {site} shard {shardIndex} holds {bad} non-finite activations (NaN or ±infinity); measures refuse them");
        return shard;
    }

    // Token-level comparison is only meaningful when both shards hold the same tokens in the same rows.
    private static void EnsureAligned(DenseShard a, DenseShard b) =>
        EnsureAligned(a.Metadata, b.Metadata, a.Rows == b.Rows && a.Seq.AsSpan().SequenceEqual(b.Seq) && a.Pos.AsSpan().SequenceEqual(b.Pos) && a.Token.AsSpan().SequenceEqual(b.Token));

    private static void EnsureAligned(ShardMetadata a, ShardMetadata b, bool aligned)
    {
        if (!aligned)
            throw new PermanentUnitFailure($"shards of {a.Model}/{a.Site} and {b.Model}/{b.Site} (shard {a.ShardIndex}) do not hold the same tokens");
    }

    public void Dispose() { }
}
