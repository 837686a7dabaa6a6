using Sweep.Models.Checkpoints;

namespace Sweep.Models.Architectures;

/// <summary>
/// What a model does to its final residual stream to make logits, read from the checkpoint alone (no forward pass,
/// no other weights): the unembedding U [vocab, d] (lm_head, or the token embedding when tied), the final norm's gain
/// g [d] as it multiplies (Gemma-2's RMSNorm multiplies by 1 + w, so <see cref="Gain"/> is 1 + w there), and its bias
/// for the LayerNorm families. Per family (the names each architecture file reads):
/// <code>
/// llama, mistral  U = lm_head.weight, or model.embed_tokens.weight when tied   g = model.norm.weight
/// gemma2          U = model.embed_tokens.weight (tied)                          g = 1 + model.norm.weight
/// gpt2            U = [transformer.]wte.weight (tied)                           g, b = [transformer.]ln_f.weight, .bias
/// gpt_neox        U = embed_out.weight, or gpt_neox.embed_in.weight when tied   g, b = gpt_neox.final_layer_norm.weight, .bias
/// </code>
/// logits = ((normalized ⊙ g) + b) Uᵀ, then Gemma-2's final soft-capping.
/// </summary>
public sealed record Unembedding(float[] Weight, int Vocab, int DModel, float[] Gain, float[]? Bias, string Source)
{
    public static Unembedding Read(ModelDescriptor descriptor)
    {
        var c = descriptor.Config;
        var files = new List<SafeTensorsFile>();
        try
        {
            foreach (var path in descriptor.WeightFiles) files.Add(SafeTensors.Open(path));
            bool Has(string name) => files.Any(f => f.Contains(name));
            float[] Read(string name, params long[] shape) =>
                (files.FirstOrDefault(f => f.Contains(name)) ?? throw new ModelLoadException(
                    $"{descriptor.Directory}: tensor '{name}' is missing, expected the {c.ModelType} unembedding")).ReadFloats(name, shape);
            int vocab = c.VocabSize, d = c.HiddenSize;
            (string U, string Gain, string? Bias, bool PlusOne) names = c.ModelType switch
            {
                "llama" or "mistral" => (c.TieWordEmbeddings || !Has("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight", "model.norm.weight", null, false),
                "gemma2" => (!c.TieWordEmbeddings && Has("lm_head.weight") ? "lm_head.weight" : "model.embed_tokens.weight", "model.norm.weight", null, true),
                "gpt2" => Gpt2Names(Has, c.TieWordEmbeddings),
                "gpt_neox" => (c.TieWordEmbeddings && !Has("embed_out.weight") ? "gpt_neox.embed_in.weight" : "embed_out.weight",
                    "gpt_neox.final_layer_norm.weight", "gpt_neox.final_layer_norm.bias", false),
                var other => throw new ModelLoadException($"{Path.Combine(descriptor.Directory, "config.json")}: model_type '{other}' has no known unembedding"),
            };
            var gain = Read(names.Gain, d);
            if (names.PlusOne) for (int i = 0; i < gain.Length; i++) gain[i] += 1f;
            return new Unembedding(Read(names.U, vocab, d), vocab, d, gain, names.Bias is { } b ? Read(b, d) : null, names.U);
        }
        finally
        {
            foreach (var f in files) f.Dispose();
        }
    }

    private static (string, string, string?, bool) Gpt2Names(Func<string, bool> has, bool tied)
    {
        string p = has("transformer.wte.weight") ? "transformer." : "";
        // GPT2LMHeadModel ties lm_head to wte; an export that writes an untied copy uses it (as Gpt2.Load does).
        string u = !tied && has("lm_head.weight") ? "lm_head.weight" : p + "wte.weight";
        return (u, p + "ln_f.weight", p + "ln_f.bias", false);
    }
}
