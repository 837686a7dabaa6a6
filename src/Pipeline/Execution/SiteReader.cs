using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;
using Sweep.Analysis.Measures;
using Sweep.Jobs.Spec;
using Sweep.Jobs.Planning;
using Sweep.Models.Saes;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Reads an analysis target's sites shard by shard as measure blocks: dense activations or SAE codes, each shard checked
/// against the cache key this run expects, and both sites checked to hold the same tokens in the same rows (or, at
/// <c>level: prompt</c>, reduced to one row per prompt and paired by prompt). For a measure that groups by label, each
/// row carries its sequence's value of the measure's label field.
/// </summary>
public sealed class SiteReader(SaeRun saes)
{
    private RunContext Run => saes.Run;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (IReadOnlyList<string> Names, int[] BySequence)> _labels = new();

    public IEnumerable<MeasureBlock> Blocks(AnalysisTarget target, ShardRange range, CancellationToken ct)
    {
        foreach (var shard in range.Shards)
        {
            ct.ThrowIfCancellationRequested();
            yield return Block(target, shard);
        }
    }

    public MeasureBlock Block(AnalysisTarget target, int shard)
    {
        var (a, tokens, metaA) = Read(target.A, target.SaeA, shard);
        if (target.B is null) return new MeasureBlock(tokens, a, Labels: target.Measure.LabelField(target.Parameters) is { } field ? LabelsOf(tokens, field) : null);
        var (b, tokensB, metaB) = Read(target.B, target.SaeB, shard);
        if (target.Analysis.Level == AnalysisLevel.Prompt) return PromptBlock(target, shard, (a, tokens), (b, tokensB));
        // Token-level comparison is only meaningful when both shards hold the same tokens in the same rows.
        if (!(tokens.Rows == tokensB.Rows && tokens.Seq.AsSpan().SequenceEqual(tokensB.Seq) && tokens.Pos.AsSpan().SequenceEqual(tokensB.Pos)
              && tokens.Token.AsSpan().SequenceEqual(tokensB.Token)))
            throw new PermanentUnitFailure($"shards of {metaA.Model}/{metaA.Site} and {metaB.Model}/{metaB.Site} (shard {shard}) do not hold the same tokens");
        return new MeasureBlock(tokens, a, b);
    }

    /// <summary>
    /// A prompt-level block (<c>level: prompt</c>): each site's rows reduced to one row per prompt with its own
    /// tokenization's BOS (<see cref="PromptRows"/>), paired by the prompts' corpus-wide sequence index.
    /// </summary>
    private MeasureBlock PromptBlock(AnalysisTarget target, int shard, (SiteRows Rows, TokenRows Tokens) a, (SiteRows Rows, TokenRows Tokens) b)
    {
        ReductionOptions Options(SiteRef site) => new(target.Analysis.Reduce, Run.CorpusOf(site.Model).BosId);
        try { return PromptRows.Pair(a.Tokens, a.Rows, Options(target.A), b.Tokens, b.Rows, Options(target.B!)); }
        catch (InvalidDataException e) { throw new PermanentUnitFailure($"{target.A} and {target.B} (shard {shard}): {e.Message}", e); }
    }

    private (SiteRows Rows, TokenRows Tokens, ShardMetadata Metadata) Read(SiteRef site, SaeSite? sae, int shard)
    {
        if (sae is not null)
        {
            var codes = ReadSparse(saes, sae, shard);
            // Negative codes are refused downstream unless the site's output can have them (a temporal SAE's pred).
            return (SiteRows.OfSparse(new SparseRows(codes.Metadata.Width, codes.Offsets, codes.Indices, codes.Values) { Signed = sae.Signed }),
                new TokenRows(codes.Seq, codes.Pos, codes.Token), codes.Metadata);
        }
        var metadata = Run.ShardMetadataFor(site.Model, site.Site, shard);
        var path = Run.ShardPath(metadata);
        var dense = DenseShardFile.Read(path);
        if (dense.Metadata.CacheKey() != metadata.CacheKey())
            throw new InvalidDataException($"{path}: holds other activations than {site} shard {shard} of this run");
        if (Sweep.Analysis.Statistics.FiniteValues.CountNonFinite(dense.Act) is > 0 and var bad)
            throw new PermanentUnitFailure($"{path}: {site} shard {shard} holds {bad} non-finite activations (NaN or ±infinity); measures refuse them");
        return (SiteRows.OfDense(dense.Metadata.Width, dense.Act), new TokenRows(dense.Seq, dense.Pos, dense.Token), dense.Metadata);
    }

    /// <summary>Each row's label: its sequence's value of <paramref name="field"/> (the corpus's values in order of first appearance).</summary>
    private RowLabels LabelsOf(TokenRows tokens, string field)
    {
        var labels = Run.Corpus.Labels ?? throw new PermanentUnitFailure($"the measure groups prompts by label field '{field}', and the corpus has no labels");
        var (names, bySequence) = _labels.GetOrAdd(field, f => labels.Index(f));
        var index = new int[tokens.Rows];
        for (int r = 0; r < index.Length; r++)
            index[r] = tokens.Seq[r] >= 0 && tokens.Seq[r] < bySequence.Length ? bySequence[tokens.Seq[r]]
                : throw new InvalidDataException($"row {r} of the shard belongs to sequence {tokens.Seq[r]}, which the corpus of {bySequence.Length} sequences does not have");
        return new RowLabels(names, index);
    }

    /// <summary>One corpus shard's codes of an SAE site, as the capture (or the SAE's training) wrote them, checked by cache key.</summary>
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
}
