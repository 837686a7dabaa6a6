using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Architectures;

/// <summary>Records the value of a hook point when it was asked for.</summary>
public delegate void HookSink(string name, Tensor value);

/// <summary>
/// What every block of one forward pass shares: the real lengths of the right-padded sequences, the attention
/// masks (<c>Blocked</c>: true = the key is hidden from the query; <c>Allowed</c>: its negation, as fused attention
/// takes it) and, for rotary models, the cos/sin tables.
/// </summary>
public sealed record DecoderBatch(long[] Lengths, long Seq, Tensor Blocked, Tensor? WindowBlocked, Tensor? Cos, Tensor? Sin)
{
    public required Tensor Allowed { get; init; }
    public Tensor? WindowAllowed { get; init; }
}

/// <summary>
/// The part of a decoder-only transformer every family shares: the TransformerLens hook plumbing (only the
/// requested hook points are kept), stopping after the last block a request needs, right padding with masks,
/// and disposal of every intermediate per block. A family supplies its embedding, its block, its final norm
/// and its unembedding; see <see cref="Llama"/>, <see cref="Gpt2"/>, <see cref="GptNeoX"/>, <see cref="Gemma2"/>.
/// </summary>
public abstract class DecoderModel : IDisposable
{
    public HfConfig Config { get; }
    public Device Device { get; }
    public ScalarType Dtype { get; }

    private readonly IReadOnlyList<Tensor> _owned;
    private readonly List<Scalar> _heldScalars = [];

    protected DecoderModel(HfConfig config, Device device, ScalarType dtype, IReadOnlyList<Tensor> weights)
    {
        Config = config; Device = device; Dtype = dtype; _owned = weights;
    }

    /// <summary>A Scalar fixed by the config (an eps, a scale), held until the model is disposed (see <see cref="HeldScalars"/>).</summary>
    protected Scalar Hold(double value)
    {
        Scalar held = value;
        _heldScalars.Add(held);
        return held;
    }

    /// <summary>Token ids [B, T] to the residual stream entering block 0 [B, T, d]; reports <c>hook_embed</c> itself.</summary>
    protected abstract Tensor Embed(Tensor tokens, HookSink hook);

    /// <summary>Block <paramref name="layer"/> applied to the residual stream; reports the block's hook points.</summary>
    protected abstract Tensor Block(int layer, Tensor x, DecoderBatch batch, HookSink hook);

    /// <summary>The final norm without its gain (and bias): the value of <c>ln_final.hook_normalized</c>.</summary>
    protected abstract Tensor FinalNormalize(Tensor x);

    /// <summary>The normalized final residual to logits [B, T, vocab] (the norm's gain, the unembedding, any capping).</summary>
    protected abstract Tensor Unembed(Tensor normalized);

    /// <summary>Rotary inverse frequencies (float32 values) when the family uses RoPE, else null.</summary>
    protected virtual float[]? RotaryInverseFrequencies => null;

    /// <summary>The sliding window (positions a query sees, itself included) some layers use, else null.</summary>
    protected virtual int? SlidingWindow => null;

    /// <summary>
    /// Runs the decoder over right-padded <paramref name="tokens"/> [B, T] (int64) whose real lengths are
    /// <paramref name="lengths"/>. Each hook point in <paramref name="hooks"/> is kept as a [B, T, d] tensor; the pass
    /// stops after the last block a hook needs unless <paramref name="logits"/> asks for [B, T, vocab] float32 logits.
    /// Results belong to the caller's dispose scope; every intermediate is disposed per block.
    /// Padding rows are computed but meaningless: padding keys are masked, so real rows never see them.
    /// </summary>
    public (Dictionary<string, Tensor> Hooks, Tensor? Logits) Forward(Tensor tokens, long[] lengths, IReadOnlySet<string> hooks, bool logits)
    {
        using var _ = torch.no_grad();
        int layers = Config.NumLayers;
        int lastLayer = logits ? layers : hooks.Select(n => HookPoints.LayerOf(n, layers)).DefaultIfEmpty(-1).Max();
        var kept = new Dictionary<string, Tensor>();
        void Hook(string name, Tensor value)
        {
            if (hooks.Contains(name)) kept[name] = value.alias().MoveToOuterDisposeScope();
        }

        long seq = tokens.shape[1];
        Tensor x;
        DecoderBatch batch;
        using (var scope = torch.NewDisposeScope())
        {
            x = Embed(tokens, Hook).MoveToOuterDisposeScope();
            var blocked = Layers.BlockedKeys(lengths, seq, null, Device).MoveToOuterDisposeScope();
            var windowBlocked = SlidingWindow is int w && w < seq ? Layers.BlockedKeys(lengths, seq, w, Device).MoveToOuterDisposeScope() : null;
            Tensor? cos = null, sin = null;
            if (RotaryInverseFrequencies is { } invFreq)
            {
                (cos, sin) = Layers.RotaryTables(invFreq, seq, Dtype, Device);
                cos = cos.MoveToOuterDisposeScope(); sin = sin.MoveToOuterDisposeScope();
            }
            batch = new DecoderBatch(lengths, seq, blocked, windowBlocked, cos, sin)
            {
                Allowed = blocked.logical_not().MoveToOuterDisposeScope(),
                WindowAllowed = windowBlocked?.logical_not().MoveToOuterDisposeScope(),
            };
        }
        try
        {
            for (int l = 0; l < layers && l <= lastLayer; l++)
            {
                using var scope = torch.NewDisposeScope();
                var next = Block(l, x, batch, Hook).MoveToOuterDisposeScope();
                x.Dispose();   // kept hooks hold their own alias
                x = next;
            }
            if (lastLayer < layers) return (kept, null);

            using (var scope = torch.NewDisposeScope())
            {
                var normalized = FinalNormalize(x);
                Hook(HookPoints.FinalNormalized, normalized);
                if (!logits) return (kept, null);
                return (kept, Unembed(normalized).to(ScalarType.Float32).MoveToOuterDisposeScope());
            }
        }
        finally
        {
            x.Dispose();
            batch.Blocked.Dispose(); batch.WindowBlocked?.Dispose(); batch.Cos?.Dispose(); batch.Sin?.Dispose();
            batch.Allowed.Dispose(); batch.WindowAllowed?.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var t in _owned.Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>()) t.Dispose();
        foreach (var s in _heldScalars) s.Dispose();
        GC.SuppressFinalize(this);
    }
}
