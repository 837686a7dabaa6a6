using System.Globalization;
using System.Text.Json;
using Sweep.Identity;
using Sweep.Jobs.Spec;
using Sweep.Pipeline.Integrity;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;
using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;
using Sweep.Storage.Database;
using Sweep.Storage.Shards;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Trains a TopK SAE from the cached dense shards of one site (streamed shard by shard through a shuffle buffer),
/// writes it as a SAELens folder under the store (reused when a folder with the same key exists and its files still have
/// the SHA-256 recorded beside them, <see cref="TrainedSaes"/>), then encodes every
/// shard of the site with it into sparse shards. Training metrics go to the metrics table. Training checkpoints go to
/// <c>{folder}.checkpoint</c>, so a retried unit resumes where the last attempt saved; the folder is removed once the
/// SAE is written.
/// </summary>
public sealed class TrainSaeExecutor(SaeRun saes)
{
    public const string MetricPrefix = "train_";

    public UnitResult Execute(TrainSaeWork unit, CancellationToken cancellationToken)
    {
        var spec = unit.Spec;
        var run = saes.Run;
        var folder = saes.TrainedFolder(spec);
        var densePaths = Enumerable.Range(0, run.Corpus.Shards.Count)
            .Select(i => run.ShardPath(run.ShardMetadataFor(spec.Model, spec.Site, i))).ToList();

        var metrics = new List<MetricRow>();
        bool reused = Reusable(folder);
        var checkpoints = new TrainingCheckpoints(CheckpointFolder(folder), DataKey: Path.GetFileName(folder),
            Warn: message => Console.Error.WriteLine($"sweep: train_sae '{spec.Name}': {message}"));
        if (!reused)
        {
            int width = run.Spec.Model(spec.Model).Descriptor.HiddenSize;
            var identity = new SaeConfig
            {
                Format = SaeFormat.SaeLens, Architecture = SaeArchitecture.TopK, DIn = width, DSae = spec.Options.DSae,
                HookName = spec.Site, ModelName = spec.Model,
            };
            // One dense shard in memory at a time; the shuffle buffer holds the rest of what training sees.
            IEnumerable<float[]> Source() => densePaths.Select(p => DenseShardFile.Read(p).Act);
            using var sae = TopKSaeTrainer.Train(Source, width, spec.Options with { Device = saes.Device }, identity,
                m => metrics.AddRange(Rows(spec, m)), cancellationToken, checkpoints);
            WriteFolder(sae, folder, new SaeLensWriter.TrainingMetadata(ContextSize: run.Spec.Corpus.MaxTokens, DatasetPath: Path.GetFileName(run.Spec.Corpus.Path)));
            saes.ForgetDigest(spec.Name);
        }
        checkpoints.Remove();

        using var encoders = new SaeEncoders(saes);
        var encoder = encoders.For(spec.Name, folder);
        var rows = new List<ShardRow>();
        for (int i = 0; i < densePaths.Count; i++)
        {
            var meta = run.ShardMetadataFor(spec.Model, spec.Site, i);
            var path = densePaths[i];
            var (shardRows, shardReused) = saes.EncodeShard(encoder, spec.Name, meta, () => DenseShardFile.Read(path),
                run.CorpusOf(spec.Model).Shards[i].Sequences.Select(s => s.Length).ToList(), cancellationToken);
            rows.AddRange(shardRows);
            reused &= shardReused;
        }
        var output = new UnitOutput(OutputUri: folder, Checksum: Keys.Combine(rows.Select(r => r.Checksum)), Shards: rows, Metrics: metrics);
        return new UnitResult(output, reused);
    }

    /// <summary>
    /// Whether a trained SAE is already in <paramref name="folder"/> with every file's recorded SHA-256 (a folder that
    /// does not verify is reported once and trained again).
    /// </summary>
    private static bool Reusable(string folder)
    {
        if (!Directory.Exists(folder)) return false;
        if (TrainedSaes.Problem(folder) is not { } problem) return true;
        DamageLog.Report(problem, "training the SAE again");
        return false;
    }

    /// <summary>Where training of the SAE of <paramref name="trainedFolder"/> keeps its checkpoints: beside it, never inside (a folder with the final name is complete).</summary>
    public static string CheckpointFolder(string trainedFolder) => trainedFolder + ".checkpoint";

    /// <summary>Writes the SAELens folder beside its final name, then renames it into place (a folder with the final name is complete).</summary>
    private static void WriteFolder(SparseAutoencoder sae, string folder, SaeLensWriter.TrainingMetadata training)
    {
        var parent = Path.GetDirectoryName(folder)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(folder)}.{Guid.NewGuid():N}.tmp");
        try
        {
            SaeLensWriter.Save(sae, temp, training);
            TrainedSaes.Record(temp);
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.Move(temp, folder);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    private static IEnumerable<MetricRow> Rows(TrainSaeSpec spec, TrainingMetrics m)
    {
        var site = Keys.SaeSite(spec.Site, spec.Name);
        var parameters = JsonSerializer.Serialize(new { step = m.Step, learning_rate = m.LearningRate, tokens = m.TokensSeen, batch_size = spec.Options.BatchSize });
        (string Measure, double Value)[] values =
        [
            ("mse", m.Mse), ("aux_loss", m.AuxLoss), ("fve", m.FractionVarianceExplained), ("l0", m.L0), ("dead_features", m.DeadFeatures),
        ];
        return values.Select(v => new MetricRow(spec.Name, MetricPrefix + v.Measure, spec.Model, site, null, null, v.Value, spec.Options.BatchSize, parameters));
    }
}
