using Sweep.Analysis.Features;
using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using Sweep.Models;
using Sweep.Models.Architectures;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Loads what a measure's finish needs besides activations, as plain data: token ids of the texts it asks for (through
/// the corpus tokenizer), the two SAEs' decoder rows — or a one-site measure's one SAE's — read from their folders
/// only if the measure calls for them, and for a one-site target on an SAE code site the SAE's decoder rows with its
/// model's unembedding and final-norm gain (read only when the measure calls for them: the <c>features</c> analysis'
/// logit effects).
/// </summary>
public static class SideInputLoader
{
    public static SideInputs For(AnalysisTarget target, SaeRun saes)
    {
        var ids = target.Measure.TokenTexts(target.Parameters) is { } texts ? TokenIds(saes.Run, target, texts) : null;
        Func<(DenseMatrix, DenseMatrix)>? decoders = target.Measure.NeedsDecoders(target.Parameters) && target.SaeA is { } a && target.SaeB is { } b
            ? () => (Decoder(saes, a), Decoder(saes, b))
            : null;
        Func<LogitWeights>? logits = target.B is null && target.SaeA is { } sae ? () => LogitWeightsOf(saes, target, sae) : null;
        // A one-site measure (a PCA of decoder rows) reads its one SAE's decoder.
        Func<DenseMatrix>? siteDecoder = target.Measure.NeedsDecoders(target.Parameters) && target.B is null && target.SaeA is { } only
            ? () => Decoder(saes, only)
            : null;
        return new SideInputs(decoders, ids) { Logits = logits, SiteDecoder = siteDecoder };
    }

    /// <summary>The SAE's decoder rows and its model's unembedding (<see cref="Unembedding.Read"/>: U, and the final norm's gain).</summary>
    private static LogitWeights LogitWeightsOf(SaeRun saes, AnalysisTarget target, SaeSite site)
    {
        var model = saes.Run.Spec.Model(site.Ref.Model);
        Unembedding unembedding;
        try { unembedding = Unembedding.Read(model.Descriptor); }
        catch (ModelLoadException e)
        {
            throw new PermanentUnitFailure($"analysis '{target.Analysis.Name}': logit effects of SAE '{site.Name}' need the unembedding of model '{model.Name}': {e.Message} (set logit_tokens: 0 to skip them)", e);
        }
        var (rows, features, dIn) = DecoderRows(saes, site);
        if (dIn != unembedding.DModel)
            throw new PermanentUnitFailure($"SAE '{site.Name}' decodes to width {dIn}, but model '{model.Name}' unembeds width {unembedding.DModel} (set logit_tokens: 0 to skip logit effects)");
        return new LogitWeights(rows, features, unembedding.Weight, unembedding.Vocab, unembedding.DModel, unembedding.Gain);
    }

    /// <summary>
    /// The ids of the requested texts — each text the corpus tokenizer encodes as exactly one token — plus the
    /// tokenizer's BOS, EOS and PAD ids when asked for.
    /// </summary>
    private static HashSet<int> TokenIds(RunContext run, AnalysisTarget target, TokenTextsRequest request)
    {
        var ids = new HashSet<int>();
        // The tokenizer whose ids the pair's rows hold (a token-level pair shares one tokenization).
        var model = run.Spec.TokenizerModelOf(target.A.Model);
        if (!TokenizerLoader.HasTokenizer(model.Path))
            throw new PermanentUnitFailure($"analysis '{target.Analysis.Name}': {request.Purpose} needs the tokenizer of model '{model.Name}', which has none (set {request.Key}: [] for {request.Off})");
        var tokenizer = TokenizerLoader.Load(model.Path);
        foreach (var text in request.Texts)
            if (tokenizer.Encode(text, addBos: false) is { Count: 1 } one) ids.Add(one[0]);
        if (request.WithSpecialTokens)
            foreach (var special in new[] { tokenizer.BosId, tokenizer.EosId, tokenizer.PadId })
                if (special is { } id) ids.Add(id);
        return ids;
    }

    /// <summary>The SAE's decoder, one row per feature (d_sae × d_in), from its folder (W_dec, or D of a temporal SAE).</summary>
    private static DenseMatrix Decoder(SaeRun saes, SaeSite site)
    {
        var (rows, features, dIn) = DecoderRows(saes, site);
        return DenseMatrix.FromFloats(rows, features, dIn);
    }

    /// <summary>The SAE's decoder rows as stored, row-major [d_sae, d_in] (<see cref="SaeDecoder"/>).</summary>
    private static (float[] Rows, int Features, int DIn) DecoderRows(SaeRun saes, SaeSite site)
    {
        try
        {
            var decoder = SaeDecoder.Read(SiteReader.Folder(saes, site));
            return (decoder.Rows, decoder.Features, decoder.DIn);
        }
        catch (SaeLoadException e) { throw new PermanentUnitFailure($"SAE '{site.Name}': {e.Message}", e); }
    }
}
