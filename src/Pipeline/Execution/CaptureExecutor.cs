using Sweep.Identity;
using Sweep.Jobs.Planning;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Integrity;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Models;
using Sweep.Models.Hooks;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Runs one model over one corpus shard and writes one dense shard per requested site. Keeps the
/// last model loaded, since a worker is handed the same model's shards in a row. Shards whose
/// content-addressed file already exists (same weights, site, tokenizer, corpus shard) and verifies are reused.
/// Sites with published SAEs attached (job key <c>saes</c>) are also encoded into sparse shards.
/// </summary>
public sealed class CaptureExecutor(RunContext run, SaeRun? saes = null) : IDisposable
{
    private CausalLm? _model;
    private string? _modelName;
    private readonly SaeEncoders? _encoders = saes is null ? null : new SaeEncoders(saes);

    public UnitResult Execute(CaptureWork unit, CancellationToken cancellationToken)
    {
        var capture = unit.Capture;
        var corpusShard = run.CorpusOf(capture.Model).Shards[capture.ShardIndex];
        var targets = capture.Sites.Select(site => run.ShardMetadataFor(capture.Model, site, capture.ShardIndex))
            .Select(metadata => (Metadata: metadata, Path: run.ShardPath(metadata))).ToList();

        // A cached shard is reused only when every batch still has its digest (checksums of the verified files).
        var checksums = targets.ToDictionary(t => t.Path, t => StoredShards.Reusable(t.Path, t.Metadata, "capturing it again"));
        bool reused = checksums.Values.All(c => c is not null);
        var written = new Dictionary<string, DenseShard>();
        if (!reused)
        {
            var activations = ModelFor(capture.Model).Capture(corpusShard.Sequences, capture.Sites, run.Spec.Execution.BatchSize);
            var rowIndex = RowIndex(corpusShard.Sequences, run.FirstSequenceOf(capture.ShardIndex));
            foreach (var (metadata, _) in targets)
            {
                // SAEs encode this in-memory copy: it must hold what the file holds, as a later read would.
                ShardDtype.Round(activations[metadata.Site].Values, metadata.Dtype);
                // Every site checked before any is written (after rounding: float16 overflows beyond ±65504).
                try { FiniteActivations.Require(capture.Model, metadata.Site, capture.ShardIndex, activations[metadata.Site].Values, metadata.Width); }
                catch (NonFiniteActivationsException e) { throw new PermanentUnitFailure(e.Message, e); }
            }
            foreach (var (metadata, path) in targets)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (seq, pos, token) = HookPoints.LacksLastPosition(metadata.Site) ? WithoutLastPositions(rowIndex) : rowIndex;
                var values = activations[metadata.Site];
                var shard = new DenseShard(metadata, seq.Length, seq, pos, token, values.Values);
                checksums[path] = DenseShardFile.Write(path, shard);
                written[metadata.Site] = shard;
            }
        }

        var rows = targets.Select(t => ShardRow.For(t.Metadata,
            HookPoints.LacksLastPosition(t.Metadata.Site) ? corpusShard.TokenCount - corpusShard.Sequences.Count : corpusShard.TokenCount, t.Path,
            checksums[t.Path]!, new FileInfo(t.Path).Length)).ToList();
        if (saes is not null)
            foreach (var (metadata, path) in targets)
                foreach (var sae in saes.AttachedTo(capture.Model, metadata.Site))
                {
                    var (saeRows, saeReused) = saes.EncodeShard(_encoders!.For(sae.Name, sae.Folder), sae.Name, metadata,
                        () => written.GetValueOrDefault(metadata.Site) ?? DenseShardFile.Read(path),
                        corpusShard.Sequences.Select(s => s.Length).ToList(), cancellationToken);
                    rows.AddRange(saeRows);
                    reused &= saeReused;
                }
        var output = new UnitOutput(
            OutputUri: Path.GetDirectoryName(rows[0].Uri),
            Checksum: Keys.Combine(rows.Select(r => r.Checksum)),
            Shards: rows);
        return new UnitResult(output, reused);
    }

    private CausalLm ModelFor(string name)
    {
        if (_modelName == name && _model != null) return _model;
        _model?.Dispose();
        _model = null;
        var spec = run.Spec.Model(name);
        try { _model = CausalLm.Load(spec.Path, run.Spec.Execution.Device, SpecNames.Of(run.Spec.Execution.Dtype)); }
        catch (ModelLoadException e) { throw new PermanentUnitFailure($"model '{name}': {e.Message}", e); }
        _modelName = name;
        return _model;
    }

    /// <summary>The seq/pos/token columns for sequences laid out one after another (no padding rows).</summary>
    private static (int[] Seq, int[] Pos, int[] Token) RowIndex(IReadOnlyList<int[]> sequences, int firstSequence)
    {
        int rows = sequences.Sum(s => s.Length);
        int[] seq = new int[rows], pos = new int[rows], token = new int[rows];
        int row = 0;
        for (int s = 0; s < sequences.Count; s++)
            for (int p = 0; p < sequences[s].Length; p++, row++)
            {
                seq[row] = firstSequence + s;
                pos[row] = p;
                token[row] = sequences[s][p];
            }
        return (seq, pos, token);
    }

    /// <summary>The rows of <paramref name="index"/> that have a next token in their sequence (log_probs_next's rows).</summary>
    private static (int[] Seq, int[] Pos, int[] Token) WithoutLastPositions((int[] Seq, int[] Pos, int[] Token) index)
    {
        var keep = Enumerable.Range(0, index.Seq.Length).Where(r => r + 1 < index.Seq.Length && index.Seq[r + 1] == index.Seq[r]).ToArray();
        return (keep.Select(r => index.Seq[r]).ToArray(), keep.Select(r => index.Pos[r]).ToArray(), keep.Select(r => index.Token[r]).ToArray());
    }

    public void Dispose()
    {
        _model?.Dispose();
        _encoders?.Dispose();
    }
}
