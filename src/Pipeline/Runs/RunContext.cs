using Sweep.Identity;
using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;
using Sweep.Storage;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// Everything the executors of one run share and never change: the validated job, its tokenized
/// corpus (one tokenization per tokenizer its models use), each model's weights digest, and where shards live.
/// </summary>
public sealed class RunContext
{
    public long RunId { get; }
    public JobSpec Spec { get; }
    /// <summary>The corpus tokenizer's tokenization: every model's when they share a tokenizer. A model's own: <see cref="CorpusOf"/>.</summary>
    public TokenizedCorpus Corpus { get; }
    /// <summary>Every tokenization of the corpus; all have the same shards of the same documents (one sequence each when several).</summary>
    public CorpusTokenizations Tokenizations { get; }
    public IReadOnlyDictionary<string, string> WeightsDigests { get; }
    public string StoreDirectory { get; }

    private readonly int[] _firstSequenceOfShard;

    /// <summary>A run whose models all read <paramref name="corpus"/>.</summary>
    public RunContext(long runId, JobSpec spec, TokenizedCorpus corpus, IReadOnlyDictionary<string, string> weightsDigests, string storeDirectory)
        : this(runId, spec, CorpusTokenizations.Shared(corpus, spec.Models.Select(m => m.Name)), weightsDigests, storeDirectory) { }

    public RunContext(long runId, JobSpec spec, CorpusTokenizations tokenizations, IReadOnlyDictionary<string, string> weightsDigests, string storeDirectory)
    {
        var corpus = tokenizations.Primary;
        RunId = runId; Spec = spec; Corpus = corpus; Tokenizations = tokenizations; WeightsDigests = weightsDigests; StoreDirectory = storeDirectory;
        _firstSequenceOfShard = new int[corpus.Shards.Count];
        for (int i = 1; i < corpus.Shards.Count; i++)
            _firstSequenceOfShard[i] = _firstSequenceOfShard[i - 1] + corpus.Shards[i - 1].Sequences.Count;
    }

    /// <summary>Corpus-wide index of the first sequence of shard <paramref name="shardIndex"/> (the shards' <c>seq</c> column), the same in every tokenization.</summary>
    public int FirstSequenceOf(int shardIndex) => _firstSequenceOfShard[shardIndex];

    /// <summary>The tokenization model <paramref name="model"/> reads: its shards' token ids and digests.</summary>
    public TokenizedCorpus CorpusOf(string model) => Tokenizations.Of(model);

    /// <summary>The metadata (and so the cache key and path) of one site's activations over one corpus shard.</summary>
    public ShardMetadata ShardMetadataFor(string model, string site, int shardIndex) => new()
    {
        Model = model,
        Site = site,
        Width = Spec.Model(model).Descriptor.WidthOf(site),
        WeightsDigest = WeightsDigests[model],
        TokenizerDigest = CorpusOf(model).TokenizerDigest,
        CorpusShardDigest = CorpusOf(model).Shards[shardIndex].Digest,
        ShardIndex = shardIndex,
        ComputeDtype = SpecNames.Of(Spec.Execution.Dtype),
        Dtype = SpecNames.Of(Spec.Output.ShardDtype),
    };

    public string ShardPath(ShardMetadata metadata) => StoreLayout.DenseShardPath(StoreDirectory, metadata);

    /// <summary>Where the partial statistics of analysis unit <paramref name="unitKey"/> live: <c>{store}/partials/run-{id}/{analysis}/{key}.partial</c>.</summary>
    public string PartialPath(string analysis, string unitKey) =>
        Path.Combine(StoreDirectory, Keys.PartialsFolder(RunId), Keys.SafeSegment(analysis), Keys.PartialFile(unitKey));

    /// <summary>Where lease <paramref name="lease"/> of unit <paramref name="unitKey"/> writes its rows: <c>{store}/results/run-{id}/{key}.{lease}.rows</c>.</summary>
    public string ResultPath(string unitKey, int lease) => Path.Combine(StoreDirectory, Keys.ResultsFolder(RunId), Keys.ResultFile(unitKey, lease));
}
