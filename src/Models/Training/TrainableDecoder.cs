using Sweep.Models.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Training;

/// <summary>A trainable weight: its Hugging Face tensor name, the tensor (requires grad), and whether AdamW decays it.</summary>
public sealed record Parameter(string Name, Tensor Value, bool Decays);

/// <summary>
/// A decoder-only language model whose weights train by autograd and save as an ordinary Hugging Face directory
/// (config.json + model.safetensors, under the tensor names the family's loader in src/Models/Architectures reads).
/// Each family is one file (<see cref="TrainableLlama"/>, <see cref="TrainableGpt2"/>) with its forward pass
/// written from the same <see cref="Architectures.Layers"/> pieces as the inference pass, on CPU float32, over
/// unpadded batches of equal-length sequences.
/// Weights start from <see cref="SeededRandom"/> (the same bits on every machine): linear and embedding weights
/// normal(0, 0.02), the projections that write into the residual stream normal(0, 0.02 / sqrt(2 * layers)) (GPT-2's
/// scaled init), norm gains 1, biases 0. Norm gains and biases are not weight-decayed.
/// </summary>
public abstract class TrainableDecoder : IDisposable
{
    protected const double InitStd = 0.02;

    private readonly List<Parameter> _parameters = [];
    private readonly List<Scalar> _held = [];
    private readonly Dictionary<long, Tensor> _causalMasks = [];

    protected TrainableDecoder(ulong seed) => Seed = seed;

    public ulong Seed { get; }

    public IReadOnlyList<Parameter> Parameters => _parameters;

    public long ParameterCount => _parameters.Sum(p => p.Value.numel());

    public abstract int VocabSize { get; }

    /// <summary>The longest sequence the model accepts (its max_position_embeddings / n_positions).</summary>
    public abstract int MaxPositions { get; }

    /// <summary>The config.json the family's <c>transformers</c> class writes, with this model's sizes.</summary>
    public abstract byte[] ConfigJson();

    /// <summary>Next-token logits [B, T, vocab] for token ids [B, T] (int64), with autograd unless under no_grad.</summary>
    public abstract Tensor Logits(Tensor tokens);

    /// <summary>Writes config.json and model.safetensors (float32, names in ordinal order: the same weights give the same bytes).</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, (float[] Data, long[] Shape)>();
        foreach (var p in _parameters)
        {
            using var host = p.Value.detach().contiguous();
            tensors[p.Name] = (host.data<float>().ToArray(), p.Value.shape);
        }
        AtomicFile.WriteAllBytes(Path.Combine(directory, "config.json"), ConfigJson());
        SafeTensors.Write(Path.Combine(directory, "model.safetensors"), tensors, SafeTensorDtype.F32,
                          new Dictionary<string, string> { ["sweep_seed"] = Seed.ToString() });
    }

    /// <summary>A parameter drawn from normal(0, <paramref name="std"/>) out of its own seeded stream.</summary>
    protected Tensor Normal(string name, double std, params long[] shape) =>
        Add(name, SeededRandom.Normal(Seed, name, shape.Aggregate(1L, (a, b) => a * b), std), shape, decays: true);

    /// <summary>A norm gain (ones) or a bias (zeros): not weight-decayed.</summary>
    protected Tensor Constant(string name, float value, params long[] shape) =>
        Add(name, Enumerable.Repeat(value, (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray(), shape, decays: false);

    private Tensor Add(string name, float[] values, long[] shape, bool decays)
    {
        var tensor = torch.tensor(values, shape, ScalarType.Float32).requires_grad_().DetachFromDisposeScope();
        _parameters.Add(new Parameter(name, tensor, decays));
        return tensor;
    }

    /// <summary>A Scalar fixed by the config (an eps, a scale), held until the model is disposed (see <see cref="HeldScalars"/>).</summary>
    protected Scalar Hold(double value)
    {
        Scalar held = value;
        _held.Add(held);
        return held;
    }

    /// <summary>The keys each query may not see in a sequence of <paramref name="length"/> real tokens, [1, 1, T, T] (true = hidden).</summary>
    protected Tensor CausalMask(long length)
    {
        if (!_causalMasks.TryGetValue(length, out var mask))
            _causalMasks[length] = mask = Architectures.Layers.BlockedKeys([length], length, null, torch.CPU).DetachFromDisposeScope();
        return mask;
    }

    protected void CheckTokens(Tensor tokens)
    {
        if (tokens.dim() != 2 || tokens.dtype != ScalarType.Int64)
            throw new ArgumentException($"tokens must be int64 [batch, length], got {tokens.dtype} [{string.Join(", ", tokens.shape)}]");
        if (tokens.shape[1] > MaxPositions)
            throw new ArgumentException($"sequence of {tokens.shape[1]} tokens is longer than the model's {MaxPositions} positions");
    }

    public void Dispose()
    {
        foreach (var p in _parameters) p.Value.Dispose();
        foreach (var m in _causalMasks.Values) m.Dispose();
        foreach (var s in _held) s.Dispose();
        GC.SuppressFinalize(this);
    }
}
