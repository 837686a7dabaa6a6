namespace Sweep.Models.Saes.Training;

/// <summary>Settings of TopK SAE training (docs/saes.md lists them with their YAML names and defaults).</summary>
public sealed record TopKTrainingOptions
{
    /// <summary>Number of features (d_sae).</summary>
    public required int DSae { get; init; }
    /// <summary>Active features per token.</summary>
    public required int K { get; init; }
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 2000;
    public int BatchSize { get; init; } = 256;
    /// <summary>Peak AdamW learning rate.</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Linear warm-up from 0 over this many steps.</summary>
    public int WarmupSteps { get; init; } = 100;
    /// <summary>Fraction of steps at the end over which the rate decays linearly to 0.</summary>
    public double DecayFraction { get; init; } = 0.2;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double WeightDecay { get; init; }
    /// <summary>Weight of the AuxK loss that makes dead features reconstruct what the live ones miss.</summary>
    public double AuxKCoefficient { get; init; } = 1.0 / 32;
    /// <summary>Features used by AuxK per token (default d_in / 2, as SAELens).</summary>
    public int? AuxK { get; init; }
    /// <summary>A feature is dead when it has not fired in this many training tokens.</summary>
    public long DeadAfterTokens { get; init; } = 50_000;
    /// <summary>Rows held by the shuffle buffer (the only activations in memory besides one input block).</summary>
    public int ShuffleBufferRows { get; init; } = 65_536;
    public int Seed { get; init; } = 0;
    /// <summary>Report metrics every this many steps (and at the last step).</summary>
    public int MetricsEvery { get; init; } = 100;
    /// <summary>Save a resumable checkpoint every this many steps (0: never). Does not change the trained weights.</summary>
    public int CheckpointEvery { get; init; } = 1000;
    /// <summary>"cpu" or "cuda:N".</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>The rate at <paramref name="step"/> (0-based): linear warm-up, constant, linear decay to 0.</summary>
    public double LearningRateAt(int step)
    {
        if (WarmupSteps > 0 && step < WarmupSteps) return LearningRate * (step + 1) / WarmupSteps;
        int decaySteps = (int)Math.Round(Steps * DecayFraction);
        int decayStart = Steps - decaySteps;
        if (decaySteps > 0 && step >= decayStart) return LearningRate * (Steps - step) / (double)decaySteps;
        return LearningRate;
    }

    /// <summary>One line naming the first setting out of range, or null.</summary>
    public string? Problem(int dIn) =>
        DSae < 1 ? "d_sae must be at least 1"
        : K < 1 || K > DSae ? $"k must be in 1..d_sae ({DSae})"
        : Steps < 1 ? "steps must be at least 1"
        : BatchSize < 1 ? "batch_size must be at least 1"
        : LearningRate <= 0 ? "learning_rate must be positive"
        : ShuffleBufferRows < BatchSize ? "shuffle_buffer must hold at least one batch"
        : DecayFraction is < 0 or > 1 ? "decay_fraction must be in 0..1"
        : (AuxK ?? dIn / 2) < 1 ? "aux_k must be at least 1"
        : CheckpointEvery < 0 ? "checkpoint_every must be at least 0"
        : null;
}

/// <summary>Metrics of one training step, reported every <see cref="TopKTrainingOptions.MetricsEvery"/> steps.</summary>
/// <param name="Mse">Mean squared reconstruction error per element on the batch.</param>
/// <param name="FractionVarianceExplained">1 - SSE / total sum of squares about the batch mean.</param>
/// <param name="L0">Mean number of active features per token (at most k).</param>
/// <param name="DeadFeatures">Features that have not fired in <see cref="TopKTrainingOptions.DeadAfterTokens"/> tokens.</param>
public sealed record TrainingMetrics(int Step, double LearningRate, double Mse, double AuxLoss, double FractionVarianceExplained, double L0, int DeadFeatures, long TokensSeen);
