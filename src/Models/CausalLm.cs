using System.Security.Cryptography;
using Sweep.Models.Architectures;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models;

/// <summary>
/// The activations of one hook point: <see cref="Width"/> floats per real token, rows in input order
/// (sequence 0 positions 0..len-1, then sequence 1, ...). Padding never appears.
/// </summary>
public sealed record SiteActivations(string Site, int Width, float[] Values)
{
    public int Rows => Values.Length / Width;

    /// <summary>The activation vector of row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => Values.AsSpan(row * Width, Width);
}

/// <summary>
/// A causal language model loaded from a Hugging Face directory, as the rest of Sweep uses it: capture
/// hook-point activations (and the model's logits and next-token log-probabilities) over token sequences, and
/// last-position logits for decoding.
/// Not thread-safe: one instance per worker.
/// </summary>
public sealed class CausalLm : IDisposable
{
    private readonly DecoderModel _model;
    private readonly Lazy<string> _weightsDigest;

    public ModelDescriptor Descriptor { get; }

    /// <summary>The device the weights live on, e.g. "cpu" or "cuda:0" ("auto" resolved).</summary>
    public string Device { get; }

    /// <summary>The weights' dtype: float32, bfloat16 or float16.</summary>
    public string Dtype { get; }

    /// <summary>SHA-256 (lower-case hex) over the bytes of the weight files in <see cref="ModelDescriptor.WeightFiles"/> order; computed on first use.</summary>
    public string WeightsDigest => _weightsDigest.Value;

    public static readonly IReadOnlyList<string> SupportedDtypes = ["float32", "bfloat16", "float16"];

    private CausalLm(ModelDescriptor descriptor, DecoderModel model, string device, string dtype)
    {
        Descriptor = descriptor; _model = model; Device = device; Dtype = dtype;
        _weightsDigest = new Lazy<string>(descriptor.ComputeWeightsDigest);
    }

    /// <summary>
    /// Loads <paramref name="directory"/> (config.json + model.safetensors or a sharded index) onto
    /// <paramref name="device"/> ("cpu", "cuda:N", or "auto": cuda:0 when CUDA is available, else cpu) as
    /// <paramref name="dtype"/> (float32; bfloat16 and float16 on CUDA only). Every failure is a one-line
    /// <see cref="ModelLoadException"/>.
    /// </summary>
    public static CausalLm Load(string directory, string device = "cpu", string dtype = "float32")
    {
        var descriptor = ModelDescriptor.Read(directory);
        var torchDevice = ResolveDevice(device);
        var scalarType = ResolveDtype(dtype, torchDevice);
        var model = ModelFamilies.Load(descriptor, torchDevice, scalarType);
        return new CausalLm(descriptor, model, torchDevice.ToString(), dtype);
    }

    private static Device ResolveDevice(string device)
    {
        if (device == "auto") return torch.cuda.is_available() ? torch.CUDA : torch.CPU;
        if (device == "cpu") return torch.CPU;
        if (device.StartsWith("cuda", StringComparison.Ordinal))
        {
            int index = 0;
            if (device != "cuda" && !(device.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(device.AsSpan(5), out index) && index >= 0))
                throw new ModelLoadException($"device '{device}' is not valid, expected cpu, cuda:N or auto");
            if (!torch.cuda.is_available())
                throw new ModelLoadException($"device '{device}': CUDA is not available (this build uses TorchSharp-cpu, or no GPU is visible), expected cpu or auto");
            if (index >= torch.cuda.device_count())
                throw new ModelLoadException($"device '{device}': only {torch.cuda.device_count()} CUDA device(s) visible, expected cuda:0..cuda:{torch.cuda.device_count() - 1}");
            return new Device(DeviceType.CUDA, index);
        }
        throw new ModelLoadException($"device '{device}' is not valid, expected cpu, cuda:N or auto");
    }

    private static ScalarType ResolveDtype(string dtype, Device device)
    {
        var type = dtype switch
        {
            "float32" => ScalarType.Float32,
            "bfloat16" => ScalarType.BFloat16,
            "float16" => ScalarType.Float16,
            _ => throw new ModelLoadException($"dtype '{dtype}' is not supported, expected one of: {string.Join(", ", SupportedDtypes)}"),
        };
        if (type != ScalarType.Float32 && device.type == DeviceType.CPU)
            throw new ModelLoadException($"dtype '{dtype}' on cpu is not supported (reduced precision runs on CUDA only), expected float32 on cpu");
        return type;
    }

    /// <summary>
    /// Activations at <paramref name="sites"/> (TransformerLens hook names, or the outputs <c>logits</c> and
    /// <c>log_probs_next</c>, see <see cref="HookPoints"/>) for every real token of <paramref name="sequences"/>, run
    /// <paramref name="batchSize"/> sequences at a time, right-padded. A site is <see cref="ModelDescriptor.WidthOf"/> wide;
    /// <c>log_probs_next</c> has no row at the last position of each sequence (there is no next token).
    /// Results do not depend on the batch size beyond floating-point noise of the backend's matmuls.
    /// </summary>
    public IReadOnlyDictionary<string, SiteActivations> Capture(IReadOnlyList<int[]> sequences, IReadOnlyCollection<string> sites, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        var wanted = new HashSet<string>(sites, StringComparer.Ordinal);
        var unknown = wanted.Where(s => !Descriptor.HookPoints.Contains(s)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw new ArgumentException($"unknown hook point(s) {string.Join(", ", unknown.Select(u => $"'{u}'"))} for {Descriptor.Directory}; available: {string.Join(", ", Descriptor.HookPoints)}", nameof(sites));
        for (int i = 0; i < sequences.Count; i++) CheckTokens(sequences[i], $"sequence {i}");

        long totalTokens = sequences.Sum(s => (long)s.Length);
        long RowsOf(string site) => HookPoints.LacksLastPosition(site) ? totalTokens - sequences.Count : totalTokens;
        foreach (var site in wanted)
            if (RowsOf(site) * Descriptor.WidthOf(site) > Array.MaxLength)
                throw new ArgumentException($"{RowsOf(site)} tokens x width {Descriptor.WidthOf(site)} of {site} exceed one array; capture fewer sequences at a time", nameof(sequences));
        var values = wanted.ToDictionary(s => s, s => new float[RowsOf(s) * Descriptor.WidthOf(s)]);
        var hookSites = wanted.Where(s => !HookPoints.IsModelOutput(s)).ToHashSet(StringComparer.Ordinal);
        bool needLogits = wanted.Any(HookPoints.IsModelOutput);

        var written = wanted.ToDictionary(s => s, _ => 0L);   // values written so far per site
        for (int start = 0; start < sequences.Count; start += batchSize)
        {
            var batch = sequences.Skip(start).Take(batchSize).ToList();
            using var scope = torch.NewDisposeScope();
            var (tokens, lengths) = Pad(batch);
            var (hooks, logits) = _model.Forward(tokens, lengths, hookSites, logits: needLogits);
            if (logits is not null) hooks[HookPoints.Logits] = logits;
            foreach (var site in wanted)
            {
                // One contiguous float32 host tensor, read in place: per sequence one block copy of its real rows.
                var host = (site == HookPoints.LogProbsNext ? NextTokenLogProbs(logits!, tokens, lengths) : hooks[site].to(ScalarType.Float32).cpu()).contiguous();
                int width = Descriptor.WidthOf(site);
                for (int b = 0; b < batch.Count; b++)
                {
                    // Real rows of sequence b: positions 0..len-1 (right padding); one fewer for log_probs_next.
                    long rows = HookPoints.LacksLastPosition(site) ? lengths[b] - 1 : lengths[b];
                    if (rows == 0) continue;
                    using var sequence = host[b];
                    var real = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(sequence.bytes)[..(int)(rows * width)];
                    real.CopyTo(values[site].AsSpan((int)written[site]));
                    written[site] += rows * width;
                }
            }
        }
        return wanted.ToDictionary(s => s, s => new SiteActivations(s, Descriptor.WidthOf(s), values[s]));
    }

    /// <summary>
    /// [B, T, 1] float32 (on the CPU): at position t &lt; len-1 of sequence b, log_softmax(logits[b, t])[tokens[b, t+1]],
    /// computed in float64 (log-sum-exp over the vocabulary, one sequence at a time); later positions are 0 and never read.
    /// </summary>
    private static Tensor NextTokenLogProbs(Tensor logits, Tensor tokens, long[] lengths)
    {
        long batch = logits.shape[0], seq = logits.shape[1];
        var result = torch.zeros([batch, seq, 1], ScalarType.Float32);
        for (int b = 0; b < batch; b++)
        {
            long rows = lengths[b] - 1;
            if (rows <= 0) continue;
            using var scope = torch.NewDisposeScope();
            var rowLogits = logits[b].narrow(0, 0, rows).to(ScalarType.Float64);
            var next = tokens[b].narrow(0, 1, rows).unsqueeze(-1);
            var picked = rowLogits.gather(-1, next).squeeze(-1);
            var logProbs = (picked - rowLogits.logsumexp(-1)).to(ScalarType.Float32).cpu();
            result[b].narrow(0, 0, rows).squeeze(-1).copy_(logProbs);
        }
        return result;
    }

    /// <summary>Logits (float32, length vocab_size) at the last position of <paramref name="tokens"/>.</summary>
    public float[] Logits(int[] tokens)
    {
        CheckTokens(tokens, "tokens");
        using var scope = torch.NewDisposeScope();
        var (ids, lengths) = Pad([tokens]);
        var (_, logits) = _model.Forward(ids, lengths, new HashSet<string>(), logits: true);
        return logits![0, tokens.Length - 1].cpu().data<float>().ToArray();
    }

    /// <summary>
    /// Greedy decoding: appends the argmax token <paramref name="newTokens"/> times (no KV cache: each step
    /// reruns the whole prefix). Returns prompt and continuation.
    /// </summary>
    public int[] GreedyDecode(int[] prompt, int newTokens)
    {
        var ids = new List<int>(prompt);
        for (int i = 0; i < newTokens; i++)
        {
            var logits = Logits([.. ids]);
            int best = 0;
            for (int v = 1; v < logits.Length; v++)
                if (logits[v] > logits[best]) best = v;
            ids.Add(best);
        }
        return [.. ids];
    }

    private (Tensor Tokens, long[] Lengths) Pad(IReadOnlyList<int[]> batch)
    {
        int longest = batch.Max(s => s.Length);
        var padded = new long[batch.Count * longest];   // pad id 0: masked, its value never matters
        for (int b = 0; b < batch.Count; b++)
            for (int t = 0; t < batch[b].Length; t++)
                padded[b * longest + t] = batch[b][t];
        var tokens = torch.tensor(padded, [batch.Count, longest], ScalarType.Int64).to(_model.Device);
        return (tokens, batch.Select(s => (long)s.Length).ToArray());
    }

    private void CheckTokens(int[] tokens, string what)
    {
        if (tokens.Length == 0) throw new ArgumentException($"{what} is empty, expected at least one token");
        int vocab = Descriptor.Config.VocabSize;
        foreach (var t in tokens)
            if (t < 0 || t >= vocab) throw new ArgumentException($"{what}: token id {t} is outside the vocabulary 0..{vocab - 1} of {Descriptor.Directory}");
    }

    public void Dispose() => _model.Dispose();
}
