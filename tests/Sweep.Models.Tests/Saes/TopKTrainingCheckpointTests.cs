using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Sweep.Models.Saes;
using Sweep.Models.Saes.Training;

namespace Sweep.Models.Tests.Saes;

/// <summary>A training that is stopped after a checkpoint and run again finishes as if it had never stopped.</summary>
public sealed class TopKTrainingCheckpointTests : IDisposable
{
    private const int DIn = 16;
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "sweep-ckpt-" + Guid.NewGuid().ToString("N"));
    private readonly List<string> _warnings = [];

    // Several blocks, so replaying the shuffle buffer crosses blocks and passes; dead features, so AuxK and lastFired matter.
    private static readonly float[][] Blocks = [.. Enumerable.Range(0, 5).Select(b => RandomSaes.Gaussian(new Random(10 + b), 100 * DIn, 1.0))];

    private static readonly TopKTrainingOptions Options = new()
    {
        DSae = 32, K = 3, Steps = 60, BatchSize = 16, WarmupSteps = 10, LearningRate = 3e-3, ShuffleBufferRows = 128,
        DeadAfterTokens = 200, MetricsEvery = 5, CheckpointEvery = 20, Seed = 2,
    };

    public TopKTrainingCheckpointTests() => TorchSharp.torch.set_num_threads(1);

    public void Dispose()
    {
        if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
    }

    private TrainingCheckpoints Checkpoints(string dataKey = "data-a") => new(_folder, dataKey, _warnings.Add);

    private static (string Digest, List<TrainingMetrics> Metrics) Train(TopKTrainingOptions options, TrainingCheckpoints? checkpoints = null,
        CancellationToken ct = default)
    {
        var metrics = new List<TrainingMetrics>();
        using var sae = TopKSaeTrainer.Train(() => Blocks, DIn, options, report: metrics.Add, cancellationToken: ct, checkpoints: checkpoints);
        return (Digest(sae), metrics);
    }

    /// <summary>SHA-256 over the bytes of every tensor of the SAE.</summary>
    private static string Digest(SparseAutoencoder sae)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var t in new[] { sae.WEnc, sae.BEnc, sae.WDec, sae.BDec }) sha.AppendData(MemoryMarshal.AsBytes(t.AsSpan()));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Trains with checkpoints until the metrics of <paramref name="stopAfter"/>, then cancels (as a lost worker would stop).</summary>
    private void TrainUntilStopped(TopKTrainingOptions options, int stopAfter, string dataKey = "data-a")
    {
        using var cts = new CancellationTokenSource();
        void Report(TrainingMetrics m) { if (m.Step == stopAfter) cts.Cancel(); }
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            using var sae = TopKSaeTrainer.Train(() => Blocks, DIn, options, report: Report, cancellationToken: cts.Token, checkpoints: Checkpoints(dataKey));
        });
    }

    [Fact]
    public void A_training_resumed_from_its_checkpoint_gives_the_same_weights_and_metrics_bit_for_bit()
    {
        var uninterrupted = Train(Options with { CheckpointEvery = 0 });
        TrainUntilStopped(Options, stopAfter: 45);
        Assert.True(File.Exists(Path.Combine(_folder, "checkpoint.json")));
        Assert.Equal(["state-40.safetensors"], Directory.GetFiles(_folder, "state-*").Select(Path.GetFileName));

        // A run stopped before its first step has already reported the metrics it restored: it resumes at step 40.
        using (var stopped = new CancellationTokenSource())
        {
            stopped.Cancel();
            var restored = new List<TrainingMetrics>();
            Assert.ThrowsAny<OperationCanceledException>(() =>
                TopKSaeTrainer.Train(() => Blocks, DIn, Options, report: restored.Add, cancellationToken: stopped.Token, checkpoints: Checkpoints()));
            Assert.Equal(uninterrupted.Metrics.TakeWhile(m => m.Step <= 40), restored);
        }

        var resumed = Train(Options, Checkpoints());
        Assert.Empty(_warnings);
        Assert.Equal(uninterrupted.Digest, resumed.Digest);
        Assert.Equal(uninterrupted.Metrics, resumed.Metrics);
        Assert.Equal(Options.Steps / Options.MetricsEvery, resumed.Metrics.Count);
    }

    [Fact]
    public void A_checkpoint_of_other_options_or_other_data_is_ignored()
    {
        TrainUntilStopped(Options, stopAfter: 25);
        var otherSeed = Options with { Seed = 3 };
        Assert.Equal(Train(otherSeed with { CheckpointEvery = 0 }).Digest, Train(otherSeed, Checkpoints()).Digest);
        Assert.Contains(_warnings, w => w.Contains("belongs to another training"));

        _warnings.Clear();
        TrainUntilStopped(Options, stopAfter: 25);
        Assert.Equal(Train(Options with { CheckpointEvery = 0 }).Digest, Train(Options, Checkpoints("data-b")).Digest);
        Assert.Contains(_warnings, w => w.Contains("belongs to another training"));
    }

    [Fact]
    public void A_checkpoint_is_resumed_under_another_checkpoint_interval()
    {
        TrainUntilStopped(Options, stopAfter: 25);
        var uninterrupted = Train(Options with { CheckpointEvery = 0 });
        Assert.Equal(uninterrupted, Train(Options with { CheckpointEvery = 7 }, Checkpoints()), new ResultComparer());
        Assert.Empty(_warnings);
    }

    [Theory]
    [InlineData("checkpoint.json")]
    [InlineData("state-20.safetensors")]
    public void A_truncated_checkpoint_file_is_ignored_and_training_starts_over(string file)
    {
        TrainUntilStopped(Options, stopAfter: 25);
        var path = Path.Combine(_folder, file);
        using (var stream = new FileStream(path, FileMode.Open)) stream.SetLength(stream.Length / 2);

        var fresh = Train(Options with { CheckpointEvery = 0 });
        var retried = Train(Options, Checkpoints());
        Assert.Equal(fresh, retried, new ResultComparer());
        Assert.Contains(_warnings, w => w.Contains("checkpoint ignored"));
    }

    [Fact]
    public void Removing_the_checkpoints_deletes_the_folder()
    {
        TrainUntilStopped(Options, stopAfter: 25);
        Checkpoints().Remove();
        Assert.False(Directory.Exists(_folder));
        Checkpoints().Remove(); // nothing there: no error
    }

    private sealed class ResultComparer : IEqualityComparer<(string Digest, List<TrainingMetrics> Metrics)>
    {
        public bool Equals((string Digest, List<TrainingMetrics> Metrics) a, (string Digest, List<TrainingMetrics> Metrics) b) =>
            a.Digest == b.Digest && a.Metrics.SequenceEqual(b.Metrics);

        public int GetHashCode((string Digest, List<TrainingMetrics> Metrics) r) => r.Digest.GetHashCode();
    }
}
