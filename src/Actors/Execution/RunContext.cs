using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;
using Sweep.Storage;
using Sweep.Storage.Shards;

namespace Sweep.Actors.Execution;

/// <summary>
/// Everything the executors of one run share and never change: the validated job, its tokenized
/// corpus, each model's weights digest, and where shards live.
/// </summary>
public sealed class RunContext
{
    public long RunId { get; }
    public JobSpec Spec { get; }
    public TokenizedCorpus Corpus { get; }
    public IReadOnlyDictionary<string, string> WeightsDigests { get; }
    public string StoreDirectory { get; }

    private readonly int[] _firstSequenceOfShard;

    public RunContext(long runId, JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string> weightsDigests, string storeDirectory)
    {
        RunId = runId; Spec = spec; Corpus = corpus; WeightsDigests = weightsDigests; StoreDirectory = storeDirectory;
        _firstSequenceOfShard = new int[corpus.Shards.Count];
        for (int i = 1; i < corpus.Shards.Count; i++)
            _firstSequenceOfShard[i] = _firstSequenceOfShard[i - 1] + corpus.Shards[i - 1].Sequences.Count;
    }

    /// <summary>Corpus-wide index of the first sequence of shard <paramref name="shardIndex"/> (the shards' <c>seq</c> column).</summary>
    public int FirstSequenceOf(int shardIndex) => _firstSequenceOfShard[shardIndex];

    /// <summary>The metadata (and so the cache key and path) of one site's activations over one corpus shard.</summary>
    public ShardMetadata ShardMetadataFor(string model, string site, int shardIndex) => new()
    {
        Model = model,
        Site = site,
        Width = Spec.Model(model).Descriptor.WidthOf(site),
        WeightsDigest = WeightsDigests[model],
        TokenizerDigest = Corpus.TokenizerDigest,
        CorpusShardDigest = Corpus.Shards[shardIndex].Digest,
        ShardIndex = shardIndex,
        ComputeDtype = SpecNames.Of(Spec.Execution.Dtype),
        Dtype = SpecNames.Of(Spec.Output.ShardDtype),
    };

    public string ShardPath(ShardMetadata metadata) => StoreLayout.DenseShardPath(StoreDirectory, metadata);
}
