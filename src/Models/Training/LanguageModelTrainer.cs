using Sweep.Models.Saes.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Training;

/// <summary>How a <see cref="TrainableDecoder"/> is trained: a fixed number of AdamW steps on seeded batches.</summary>
public sealed record LanguageModelTrainingOptions
{
    public int Steps { get; init; } = 1000;
    /// <summary>Sequences per step.</summary>
    public int BatchSize { get; init; } = 16;
    /// <summary>Tokens per sequence (the model predicts each one's successor).</summary>
    public int SequenceLength { get; init; } = 64;
    public double PeakLearningRate { get; init; } = 3e-3;
    /// <summary>Linear warm-up from 0 over these steps, then cosine decay to <see cref="FinalLearningRateFraction"/> x peak.</summary>
    public int WarmupSteps { get; init; } = 50;
    public double FinalLearningRateFraction { get; init; } = 0.1;
    public double WeightDecay { get; init; } = 0.1;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.95;
    public double Epsilon { get; init; } = 1e-8;
    /// <summary>Gradients are scaled down when their global L2 norm exceeds this.</summary>
    public double GradientClip { get; init; } = 1.0;
    /// <summary>Seeds the order of the training windows (the weights have the model's own seed).</summary>
    public ulong DataSeed { get; init; } = 1;

    /// <summary>The learning rate of step <paramref name="step"/> (0-based).</summary>
    public double LearningRate(int step)
    {
        if (step < WarmupSteps) return PeakLearningRate * (step + 1) / WarmupSteps;
        double progress = Steps <= WarmupSteps ? 1 : (double)(step - WarmupSteps) / Math.Max(1, Steps - 1 - WarmupSteps);
        double floor = PeakLearningRate * FinalLearningRateFraction;
        return floor + (PeakLearningRate - floor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
    }
}

/// <summary>A training run's record: the mean training loss of each step (nats per token) and the wall time.</summary>
public sealed record LanguageModelTrainingResult(IReadOnlyList<double> StepLosses, double Seconds, long TokensSeen);

/// <summary>
/// Next-token training of a <see cref="TrainableDecoder"/> on a token stream, and its loss on held-out tokens.
/// <para>
/// Data: the corpus is one stream of token ids (documents separated by end-of-text), and a training sequence is the
/// <see cref="LanguageModelTrainingOptions.SequenceLength"/> + 1 tokens from a document start drawn uniformly with a
/// <see cref="SeededRandom"/> (running on into the following documents; a start too close to the end is moved back),
/// so position 0 is a document's first token, as when a job runs the model on one document.
/// Step: mean cross-entropy over every position, backward, global-norm clipping, AdamW (the project's, with held
/// Scalars; two groups: matrices and embeddings decayed, norm gains and biases not) at the scheduled rate.
/// </para>
/// Determinism: initial weights and window order are the same bits everywhere; libtorch's CPU kernels are
/// deterministic for a fixed thread count, so a rerun with the same threads gives the same weights, bit for bit.
/// Another thread count changes the order of float summations inside the matmuls, and so the last bits.
/// </summary>
public static class LanguageModelTrainer
{
    /// <summary>Trains <paramref name="model"/> in place; <paramref name="progress"/> hears (step, loss) after each step.</summary>
    public static LanguageModelTrainingResult Train(TrainableDecoder model, TokenStream stream, LanguageModelTrainingOptions options,
                                                    Action<int, double>? progress = null)
    {
        if (options.SequenceLength > model.MaxPositions)
            throw new ArgumentException($"sequence length {options.SequenceLength} exceeds the model's {model.MaxPositions} positions");
        if (stream.Tokens.Length < options.SequenceLength + 1)
            throw new ArgumentException($"the training stream has {stream.Tokens.Length} tokens, fewer than one sequence of {options.SequenceLength + 1}");
        var started = System.Diagnostics.Stopwatch.StartNew();
        var decayed = model.Parameters.Where(p => p.Decays).Select(p => p.Value).ToList();
        var plain = model.Parameters.Where(p => !p.Decays).Select(p => p.Value).ToList();
        using var decayedOptimizer = new AdamW(decayed, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        using var plainOptimizer = new AdamW(plain, options.Beta1, options.Beta2, options.Epsilon, 0.0);
        var rng = new SeededRandom(options.DataSeed);
        var losses = new List<double>(options.Steps);
        int t = options.SequenceLength, b = options.BatchSize;
        var inputs = new long[b * t];
        var targets = new long[b * t];

        for (int step = 0; step < options.Steps; step++)
        {
            for (int row = 0; row < b; row++)
            {
                int start = Math.Min(stream.DocumentStarts[rng.NextInt(stream.DocumentStarts.Length)], stream.Tokens.Length - t - 1);
                for (int i = 0; i < t; i++)
                {
                    inputs[row * t + i] = stream.Tokens[start + i];
                    targets[row * t + i] = stream.Tokens[start + i + 1];
                }
            }
            double loss;
            using (var scope = torch.NewDisposeScope())
            {
                decayedOptimizer.ZeroGrad();
                plainOptimizer.ZeroGrad();
                var logits = model.Logits(torch.tensor(inputs, [b, t], ScalarType.Int64));
                var lossTensor = F.cross_entropy(logits.reshape(b * t, model.VocabSize), torch.tensor(targets, ScalarType.Int64));
                lossTensor.backward();
                loss = lossTensor.item<float>();
                if (!double.IsFinite(loss))
                    throw new InvalidOperationException($"training loss is {loss} at step {step}; lower the learning rate ({options.LearningRate(step)})");
                ClipGradients(model.Parameters, options.GradientClip);
            }
            double lr = options.LearningRate(step);
            decayedOptimizer.Step(lr);
            plainOptimizer.Step(lr);
            losses.Add(loss);
            progress?.Invoke(step, loss);
        }
        return new LanguageModelTrainingResult(losses, started.Elapsed.TotalSeconds, (long)options.Steps * b * t);
    }

    /// <summary>Scales every gradient by clip / norm when their global L2 norm (accumulated in float64) exceeds <paramref name="clip"/>.</summary>
    private static void ClipGradients(IReadOnlyList<Parameter> parameters, double clip)
    {
        double sumSquares = 0;
        foreach (var p in parameters)
        {
            using var grad = p.Value.grad;
            if (grad is null) continue;
            using var squares = grad.pow(HeldScalars.Two).sum(ScalarType.Float64);   // not square(): it is pow(2) with an implicit Scalar
            sumSquares += squares.item<double>();
        }
        double norm = Math.Sqrt(sumSquares);
        if (norm <= clip) return;
        using Scalar scale = clip / (norm + 1e-6);
        using var noGrad = torch.no_grad();
        foreach (var p in parameters)
        {
            using var grad = p.Value.grad;
            grad?.mul_(scale);
        }
    }

    /// <summary>
    /// Mean next-token cross-entropy (nats) over the windows of <paramref name="stream"/> at <paramref name="starts"/>
    /// (see <see cref="TokenStream.EvaluationWindowStarts"/>): each window's <paramref name="sequenceLength"/> tokens predict
    /// their successors. Summed in float64.
    /// </summary>
    public static double HeldOutLoss(TrainableDecoder model, TokenStream stream, IReadOnlyList<int> starts, int sequenceLength, int batchSize = 32)
    {
        if (starts.Count == 0) throw new ArgumentException($"no held-out windows: the stream has {stream.Tokens.Length} tokens, fewer than one window of {sequenceLength + 1}");
        double total = 0;
        using var noGrad = torch.no_grad();
        for (int first = 0; first < starts.Count; first += batchSize)
        {
            int b = Math.Min(batchSize, starts.Count - first);
            var inputs = new long[b * sequenceLength];
            var targets = new long[b * sequenceLength];
            for (int row = 0; row < b; row++)
                for (int i = 0; i < sequenceLength; i++)
                {
                    inputs[row * sequenceLength + i] = stream.Tokens[starts[first + row] + i];
                    targets[row * sequenceLength + i] = stream.Tokens[starts[first + row] + i + 1];
                }
            using var scope = torch.NewDisposeScope();
            var logits = model.Logits(torch.tensor(inputs, [b, sequenceLength], ScalarType.Int64));
            var nll = F.cross_entropy(logits.reshape(b * sequenceLength, model.VocabSize), torch.tensor(targets, ScalarType.Int64),
                                      reduction: nn.Reduction.None);
            total += nll.sum(ScalarType.Float64).item<double>();
        }
        return total / ((long)starts.Count * sequenceLength);
    }
}
