using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sweep.Models.Architectures;

/// <summary>The weights of one decoder block, in the order the forward pass uses them.</summary>
public sealed record LlamaBlock(
    Tensor InputNorm,                                   // [d]
    Tensor Wq, Tensor Wk, Tensor Wv, Tensor Wo,         // [h*hd, d], [kvh*hd, d], [kvh*hd, d], [d, h*hd]
    Tensor PostAttentionNorm,                           // [d]
    Tensor WGate, Tensor WUp, Tensor WDown);            // [ff, d], [ff, d], [d, ff]

/// <summary>
/// Llama / Mistral decoder (Touvron et al. 2023), the Hugging Face <c>LlamaForCausalLM</c> convention:
/// pre-norm blocks with RMSNorm, grouped-query attention with rotary position embeddings in the
/// rotate-half layout, a SwiGLU MLP, a final RMSNorm and an unembedding tied or separate.
///
/// <code>
/// x = embed[tokens]                                              hook_embed
/// for each block l:                                              blocks.l.hook_resid_pre
///     x = x + o_proj(attention(rope(q(norm(x))), rope(k(norm(x))), v(norm(x))))   hook_attn_out, hook_resid_mid
///     x = x + down(silu(gate(norm(x))) * up(norm(x)))            hook_mlp_out, hook_resid_post
/// logits = lm_head(norm(x))                                      ln_final.hook_normalized
/// </code>
///
/// Hook values follow TransformerLens: <c>ln_final.hook_normalized</c> is x / rms(x), before the norm's gain.
/// Batches are right-padded: sequence b holds real tokens at positions 0..len_b-1; padding keys are masked,
/// and padding rows are computed but meaningless.
/// </summary>
public sealed class Llama : IDisposable
{
    public HfConfig Config { get; }
    public Device Device { get; }
    public ScalarType Dtype { get; }

    private readonly Tensor _embed;          // [vocab, d]
    private readonly LlamaBlock[] _blocks;
    private readonly Tensor _finalNorm;      // [d]
    private readonly Tensor _lmHead;         // [vocab, d]; the same tensor as _embed when tied
    private readonly Tensor _invFreq;        // [hd/2], float32

    private Llama(HfConfig config, Device device, ScalarType dtype, Tensor embed, LlamaBlock[] blocks, Tensor finalNorm, Tensor lmHead)
    {
        Config = config; Device = device; Dtype = dtype;
        _embed = embed; _blocks = blocks; _finalNorm = finalNorm; _lmHead = lmHead;
        _invFreq = torch.tensor(RopeInverseFrequencies(config), ScalarType.Float32, device);
    }

    /// <summary>Loads the weights of an HF Llama/Mistral directory, checking every tensor's shape against config.json.</summary>
    public static Llama Load(ModelDescriptor descriptor, Device device, ScalarType dtype)
    {
        var c = descriptor.Config;
        string config = Path.Combine(descriptor.Directory, "config.json");
        if (c.HeadDim <= 0 || c.HeadDim % 2 != 0)
            throw new ModelLoadException($"{config}: head dimension {c.HeadDim} is not a positive even number, expected one for rotary embeddings");
        if (c.NumKeyValueHeads <= 0 || c.NumHeads % c.NumKeyValueHeads != 0)
            throw new ModelLoadException($"{config}: num_attention_heads {c.NumHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}");
        if (c.HiddenAct != "silu")
            throw new ModelLoadException($"{config}: hidden_act '{c.HiddenAct}' is not supported, expected silu");
        if (c.AttentionBias || c.MlpBias)
            throw new ModelLoadException($"{config}: attention_bias/mlp_bias true is not supported, expected false (Llama and Mistral have no biases)");
        if (c.RopeScaling is { Type: not ("default" or "linear" or "llama3") } scaling)
            throw new ModelLoadException($"{config}: rope_scaling type '{scaling.Type}' is not supported, expected linear or llama3 (or none)");

        long d = c.HiddenSize, hd = c.HeadDim, h = c.NumHeads, kvh = c.NumKeyValueHeads, ff = c.IntermediateSize, vocab = c.VocabSize;
        using var checkpoint = new SafeTensorsCheckpoint(descriptor.WeightFiles);
        var loaded = new List<Tensor>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        Tensor W(string name, params long[] shape)
        {
            var t = checkpoint.Load(name, shape, dtype, device);
            used.Add(name);
            loaded.Add(t);
            return t;
        }
        try
        {
            var embed = W("model.embed_tokens.weight", vocab, d);
            var blocks = new LlamaBlock[c.NumLayers];
            for (int l = 0; l < c.NumLayers; l++)
            {
                string p = $"model.layers.{l}.";
                blocks[l] = new LlamaBlock(
                    InputNorm: W(p + "input_layernorm.weight", d),
                    Wq: W(p + "self_attn.q_proj.weight", h * hd, d),
                    Wk: W(p + "self_attn.k_proj.weight", kvh * hd, d),
                    Wv: W(p + "self_attn.v_proj.weight", kvh * hd, d),
                    Wo: W(p + "self_attn.o_proj.weight", d, h * hd),
                    PostAttentionNorm: W(p + "post_attention_layernorm.weight", d),
                    WGate: W(p + "mlp.gate_proj.weight", ff, d),
                    WUp: W(p + "mlp.up_proj.weight", ff, d),
                    WDown: W(p + "mlp.down_proj.weight", d, ff));
            }
            var finalNorm = W("model.norm.weight", d);
            bool tied = c.TieWordEmbeddings || !checkpoint.Contains("lm_head.weight");
            var lmHead = tied ? embed : W("lm_head.weight", vocab, d);

            // A tensor this file does not read (a bias, an extra norm) means a variant it would compute wrongly.
            var unused = checkpoint.Names.Where(n => !used.Contains(n) && !n.EndsWith("rotary_emb.inv_freq", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
            if (unused.Count > 0)
                throw new ModelLoadException($"{checkpoint.FileOf(unused[0])}: tensor '{unused[0]}'{(unused.Count > 1 ? $" (and {unused.Count - 1} more)" : "")} is not used by the Llama architecture (a variant with extra weights?), expected only the tensors of LlamaForCausalLM");
            return new Llama(c, device, dtype, embed, blocks, finalNorm, lmHead);
        }
        catch
        {
            foreach (var t in loaded) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Runs the decoder over right-padded <paramref name="tokens"/> [B, T] (int64) whose real lengths are
    /// <paramref name="lengths"/>. Each hook point in <paramref name="hooks"/> is kept as a [B, T, d] tensor
    /// (float32 math for norms and softmax, the model dtype elsewhere); the pass stops after the last block a
    /// hook needs unless <paramref name="logits"/> asks for [B, T, vocab] float32 logits.
    /// Results belong to the caller's dispose scope; every intermediate is disposed per block.
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

        long batch = tokens.shape[0], seq = tokens.shape[1];
        Tensor x, blocked, cos, sin;
        using (var scope = torch.NewDisposeScope())
        {
            x = _embed.index_select(0, tokens.reshape(-1)).reshape(batch, seq, Config.HiddenSize);
            Hook(HookPoints.Embed, x);
            blocked = AttentionMask(lengths, seq).logical_not();
            (cos, sin) = Rotary(seq);
            x = x.MoveToOuterDisposeScope(); blocked = blocked.MoveToOuterDisposeScope(); cos = cos.MoveToOuterDisposeScope(); sin = sin.MoveToOuterDisposeScope();
        }

        for (int l = 0; l < layers && l <= lastLayer; l++)
        {
            using var scope = torch.NewDisposeScope();
            var next = Block(l, x, blocked, cos, sin, Hook).MoveToOuterDisposeScope();
            x.Dispose();   // kept hooks hold their own alias
            x = next;
        }
        if (lastLayer < layers) return (kept, null);

        using (var scope = torch.NewDisposeScope())
        {
            var normalized = RmsNormalize(x);
            Hook(HookPoints.FinalNormalized, normalized);
            if (!logits) return (kept, null);
            var y = Scale(normalized, _finalNorm);
            return (kept, F.linear(y, _lmHead).to(ScalarType.Float32).MoveToOuterDisposeScope());
        }
    }

    /// <summary>One pre-norm decoder block: attention then SwiGLU MLP, each added to the residual stream.</summary>
    private Tensor Block(int l, Tensor x, Tensor blocked, Tensor cos, Tensor sin, Action<string, Tensor> hook)
    {
        var w = _blocks[l];
        hook(HookPoints.ResidPre(l), x);

        var attnOut = Attention(Scale(RmsNormalize(x), w.InputNorm), w, blocked, cos, sin);
        hook(HookPoints.AttnOut(l), attnOut);
        x = x + attnOut;
        hook(HookPoints.ResidMid(l), x);

        var h = Scale(RmsNormalize(x), w.PostAttentionNorm);
        var mlpOut = F.linear(F.silu(F.linear(h, w.WGate)) * F.linear(h, w.WUp), w.WDown);
        hook(HookPoints.MlpOut(l), mlpOut);
        x = x + mlpOut;
        hook(HookPoints.ResidPost(l), x);
        return x;
    }

    /// <summary>Causal grouped-query self-attention with rotary embeddings; returns o_proj's output [B, T, d].</summary>
    private Tensor Attention(Tensor x, LlamaBlock w, Tensor blocked, Tensor cos, Tensor sin)
    {
        long b = x.shape[0], t = x.shape[1];
        int h = Config.NumHeads, kvh = Config.NumKeyValueHeads, hd = Config.HeadDim;

        var q = F.linear(x, w.Wq).view(b, t, h, hd).transpose(1, 2);      // [B, h, T, hd]
        var k = F.linear(x, w.Wk).view(b, t, kvh, hd).transpose(1, 2);    // [B, kvh, T, hd]
        var v = F.linear(x, w.Wv).view(b, t, kvh, hd).transpose(1, 2);
        q = ApplyRotary(q, cos, sin);
        k = ApplyRotary(k, cos, sin);
        if (kvh != h)
        {
            // Query head i reads key/value head i / (h / kvh).
            k = k.repeat_interleave(h / kvh, dim: 1);
            v = v.repeat_interleave(h / kvh, dim: 1);
        }

        var scores = torch.matmul(q, k.transpose(2, 3)) / Math.Sqrt(hd);   // [B, h, T, T]
        scores = scores.masked_fill(blocked, double.NegativeInfinity);
        var probs = scores.softmax(-1, ScalarType.Float32).to(q.dtype);
        var context = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, h * hd);
        return F.linear(context, w.Wo);
    }

    /// <summary>
    /// Which keys each query may attend to, [B, 1, T, T]: earlier-or-same positions that are real tokens
    /// (and, with Mistral's sliding window, fewer than sliding_window positions back).
    /// </summary>
    private Tensor AttentionMask(long[] lengths, long seq)
    {
        var causal = torch.ones(seq, seq, ScalarType.Bool, Device).tril();                                  // [T, T]
        if (Config.SlidingWindow is int window && window < seq)
            causal = causal.logical_and(torch.ones(seq, seq, ScalarType.Bool, Device).triu(1 - window));   // q - k < window
        var positions = torch.arange(seq, ScalarType.Int64, Device).unsqueeze(0);                          // [1, T]
        var keyIsReal = positions < torch.tensor(lengths, ScalarType.Int64, Device).unsqueeze(1);          // [B, T]
        return causal.unsqueeze(0).unsqueeze(0).logical_and(keyIsReal.unsqueeze(1).unsqueeze(1));          // [B, 1, T, T]
    }

    /// <summary>cos and sin of position * frequency, [T, hd] each, duplicated across the two halves (HF layout).</summary>
    private (Tensor Cos, Tensor Sin) Rotary(long seq)
    {
        var positions = torch.arange(seq, ScalarType.Float32, Device);
        var freqs = positions.unsqueeze(1) * _invFreq.unsqueeze(0);   // [T, hd/2]
        var emb = torch.cat([freqs, freqs], dim: -1);                 // [T, hd]
        return (emb.cos().to(Dtype), emb.sin().to(Dtype));
    }

    /// <summary>
    /// RoPE inverse frequencies theta^(-2i/hd), i = 0..hd/2-1, with config.json's rope_scaling applied:
    /// "linear" divides them all by factor; "llama3" (Llama 3.1+) divides the low frequencies (wavelength above
    /// original_max_position_embeddings / low_freq_factor) by factor, keeps the high ones, and blends in between.
    /// </summary>
    public static float[] RopeInverseFrequencies(HfConfig config)
    {
        int hd = config.HeadDim;
        var invFreq = new double[hd / 2];
        for (int i = 0; i < invFreq.Length; i++) invFreq[i] = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / hd);
        switch (config.RopeScaling)
        {
            case { Type: "linear", Factor: var factor }:
                for (int i = 0; i < invFreq.Length; i++) invFreq[i] /= factor;
                break;
            case { Type: "llama3" } s:
                double lowFreqWavelen = s.OriginalMaxPositions / s.LowFreqFactor;
                double highFreqWavelen = s.OriginalMaxPositions / s.HighFreqFactor;
                for (int i = 0; i < invFreq.Length; i++)
                {
                    double wavelen = 2 * Math.PI / invFreq[i];
                    if (wavelen > lowFreqWavelen) invFreq[i] /= s.Factor;
                    else if (wavelen >= highFreqWavelen)
                    {
                        double smooth = (s.OriginalMaxPositions / wavelen - s.LowFreqFactor) / (s.HighFreqFactor - s.LowFreqFactor);
                        invFreq[i] = (1 - smooth) * invFreq[i] / s.Factor + smooth * invFreq[i];
                    }
                }
                break;
        }
        return invFreq.Select(f => (float)f).ToArray();
    }

    /// <summary>Rotate-half RoPE: x * cos + rotate_half(x) * sin, with rotate_half([x1, x2]) = [-x2, x1].</summary>
    private static Tensor ApplyRotary(Tensor x, Tensor cos, Tensor sin)
    {
        long half = x.shape[^1] / 2;
        var x1 = x.narrow(-1, 0, half);
        var x2 = x.narrow(-1, half, half);
        var rotated = torch.cat([-x2, x1], dim: -1);
        return x * cos + rotated * sin;
    }

    /// <summary>x / sqrt(mean(x^2) + eps) over the last dimension, computed in float32 and cast back.</summary>
    private Tensor RmsNormalize(Tensor x)
    {
        var x32 = x.to(ScalarType.Float32);
        var variance = x32.pow(2).mean([-1L], keepdim: true);
        return (x32 * torch.rsqrt(variance + Config.RmsNormEps)).to(x.dtype);
    }

    /// <summary>The RMSNorm gain.</summary>
    private static Tensor Scale(Tensor normalized, Tensor weight) => normalized * weight;

    public void Dispose()
    {
        _embed.Dispose();
        foreach (var b in _blocks)
            foreach (var t in new[] { b.InputNorm, b.Wq, b.Wk, b.Wv, b.Wo, b.PostAttentionNorm, b.WGate, b.WUp, b.WDown })
                t.Dispose();
        _finalNorm.Dispose();
        if (!ReferenceEquals(_lmHead, _embed)) _lmHead.Dispose();
        _invFreq.Dispose();
    }
}
