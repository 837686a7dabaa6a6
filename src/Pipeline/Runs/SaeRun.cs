using System.Collections.Concurrent;
using Sweep.Identity;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Execution;
using Sweep.Pipeline.Integrity;
using Sweep.Models.Saes;
using Sweep.Storage;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;
using TorchSharp;

namespace Sweep.Pipeline.Runs;

/// <summary>
/// What the executors of one run share about its SAEs: their digests, where trained SAEs are written, and the
/// metadata (and so the cache key and path) of every sparse shard. Digests of published SAEs are computed once.
/// </summary>
public sealed class SaeRun(RunContext run)
{
    public const string SaesFolder = "saes";
    /// <summary>A feature firing on more than this fraction of a run's tokens counts as dense.</summary>
    public const double DenseFraction = 0.1;

    // PublicationOnly: a failed digest (folder not written yet) is not cached, the next call tries again.
    private readonly ConcurrentDictionary<string, Lazy<string>> _digests = new();

    public RunContext Run => run;

    public IEnumerable<SaeSpec> AttachedTo(string model, string site) => run.Spec.Saes.Where(s => s.Model == model && s.Site == site);

    /// <summary>
    /// Digest of a published SAE's files, or of a trained SAE's folder once it exists and its files still have the SHA-256
    /// recorded when it was trained (else <see cref="TrainedSaeDamagedException"/>).
    /// </summary>
    public string DigestOf(string saeName) => _digests.GetOrAdd(saeName, name => new Lazy<string>(() =>
        run.Spec.Saes.FirstOrDefault(s => s.Name == name) is { } published ? published.Folder.ComputeDigest() : TrainedDigest(name),
        LazyThreadSafetyMode.PublicationOnly)).Value;

    private string TrainedDigest(string name)
    {
        var folder = TrainedFolder(run.Spec.TrainSaes.First(t => t.Name == name));
        TrainedSaes.Verify(folder);
        return SaeLoader.Describe(folder).ComputeDigest();
    }

    /// <summary>Forgets the digest of SAE <paramref name="saeName"/> (its folder was just written again).</summary>
    public void ForgetDigest(string saeName) => _digests.TryRemove(saeName, out _);

    /// <summary>
    /// Where a trained SAE lives: <c>{store}/saes/{name}-{key16}</c>, the key hashing everything that determines its
    /// weights (model weights, site, tokenizer, every corpus shard, training settings), so a later run reuses it.
    /// </summary>
    public string TrainedFolder(TrainSaeSpec spec) =>
        Path.Combine(run.StoreDirectory, SaesFolder, Keys.TrainedSaeFolder(spec.Name, run.WeightsDigests[spec.Model], spec.Site,
            run.CorpusOf(spec.Model).TokenizerDigest, JobLoader.TrainingKey(spec.Options), run.CorpusOf(spec.Model).Shards.Select(s => s.Digest),
            SpecNames.Of(run.Spec.Output.ShardDtype)));

    public ShardMetadata SparseMetadata(string model, string hook, int shardIndex, SaeIdentity sae, int dSae)
    {
        var dense = run.ShardMetadataFor(model, hook, shardIndex);
        return dense with
        {
            Site = Keys.SaeSite(hook, sae.Name, sae.Codes), Width = dSae, Kind = ShardMetadata.KindSparse,
            Dtype = ShardDtype.Float32, Sae = sae with { InputDtype = dense.Dtype },
        };
    }

    /// <summary>
    /// Encodes one corpus shard's activations at a site (<paramref name="meta"/>; read through <paramref name="readDense"/> only
    /// when needed) with <paramref name="encoder"/> and writes one sparse shard per output, reusing files whose cache key
    /// matches and that verify. Returns the catalog rows and whether all were cached.
    /// </summary>
    public (List<ShardRow> Rows, bool Reused) EncodeShard(ISparseEncoder encoder, string saeName, ShardMetadata meta, Func<DenseShard> readDense,
        IReadOnlyList<int> sequenceLengths, CancellationToken ct)
    {
        int rowCount = sequenceLengths.Sum();
        var config = encoder.Config;
        var targets = encoder.Outputs.Select(output =>
        {
            var identity = new SaeIdentity(saeName, DigestOf(saeName), meta.Site, output, config.ArchitectureName, config.NeuronpediaId ?? "");
            var metadata = SparseMetadata(meta.Model, meta.Site, meta.ShardIndex, identity, config.DSae);
            return (Output: output, Metadata: metadata, Path: run.ShardPath(metadata));
        }).ToList();

        var checksums = targets.ToDictionary(t => t.Path, t => StoredShards.Reusable(t.Path, t.Metadata, "encoding it again"));
        bool reused = checksums.Values.All(c => c is not null);
        if (!reused)
        {
            ct.ThrowIfCancellationRequested();
            var dense = readDense();
            var encoding = encoder.Encode(dense.Act, sequenceLengths, ReconstructionOutput.SquaredErrorOnly);
            double sse = encoding.ReconstructionSse;
            foreach (var (output, metadata, path) in targets)
            {
                var codes = encoding.Codes[output];
                checksums[path] = SparseShardFile.Write(path, new SparseShard(metadata, dense.Rows, dense.Seq, dense.Pos, dense.Token, codes.Offsets, codes.Indices, codes.Values)
                {
                    ReconstructionSse = sse,
                });
            }
        }
        var rows = targets.Select(t => ShardRow.For(t.Metadata, rowCount, t.Path, checksums[t.Path]!, new FileInfo(t.Path).Length)).ToList();
        return (rows, reused);
    }

    /// <summary>"auto" as CausalLm resolves it: the first GPU when CUDA is available, else the CPU.</summary>
    public string Device => run.Spec.Execution.Device == "auto" ? (torch.cuda.is_available() ? "cuda:0" : "cpu") : run.Spec.Execution.Device;
}

/// <summary>SAEs loaded by one executor (each worker keeps its own, since they hold device tensors).</summary>
public sealed class SaeEncoders(SaeRun saes) : IDisposable
{
    private readonly Dictionary<string, ISparseEncoder> _loaded = new();

    public ISparseEncoder For(string name, string folder) => For(name, () => SaeLoader.Load(folder, saes.Device));

    /// <summary>A published SAE as validated (with the job's settings for a bare state dict).</summary>
    public ISparseEncoder For(string name, SaeLoader.SaeFolder folder) => For(name, () => SaeLoader.Load(folder, saes.Device));

    private ISparseEncoder For(string name, Func<ISparseEncoder> load)
    {
        if (_loaded.TryGetValue(name, out var encoder)) return encoder;
        try { encoder = load(); }
        catch (SaeLoadException e) { throw new PermanentUnitFailure($"SAE '{name}': {e.Message}", e); }
        _loaded[name] = encoder;
        return encoder;
    }

    public void Dispose()
    {
        foreach (var encoder in _loaded.Values) encoder.Dispose();
        _loaded.Clear();
    }
}
