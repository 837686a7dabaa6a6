using Sweep.Analysis.Linear;
using Sweep.Analysis.Measures;
using Sweep.Jobs.Planning;
using Sweep.Models.Saes;
using Sweep.Models.Tokenizers;
using Sweep.Pipeline.Runs;
using Sweep.Pipeline.Units;

namespace Sweep.Pipeline.Execution;

/// <summary>
/// Loads what a measure's finish needs besides activations, as plain data: token ids of the texts it asks for (through
/// the corpus tokenizer), and the two SAEs' decoder rows (read from their folders only if the measure calls for them).
/// </summary>
public static class SideInputLoader
{
    public static SideInputs For(AnalysisTarget target, SaeRun saes)
    {
        var ids = target.Measure.TokenTexts(target.Parameters) is { } texts ? TokenIds(saes.Run, target, texts) : null;
        Func<(DenseMatrix, DenseMatrix)>? decoders = target.Measure.NeedsDecoders(target.Parameters) && target.SaeA is { } a && target.SaeB is { } b
            ? () => (Decoder(saes, a), Decoder(saes, b))
            : null;
        return new SideInputs(decoders, ids);
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
        var folder = SiteReader.Folder(saes, site);
        ISparseEncoder encoder;
        try { encoder = SaeLoader.Load(folder, "cpu"); }
        catch (SaeLoadException e) { throw new PermanentUnitFailure($"SAE '{site.Name}': {e.Message}", e); }
        using (encoder)
            return encoder switch
            {
                SparseAutoencoder sae => DenseMatrix.FromFloats(sae.WDec, sae.Config.DSae, sae.Config.DIn),
                // Both parts of a temporal SAE's code (novel, pred) decode through the one decoder D.
                TemporalSae temporal => DenseMatrix.FromFloats(temporal.D, temporal.Config.DSae, temporal.Config.DIn),
                _ => throw new PermanentUnitFailure($"SAE '{site.Name}': no decoder rows to compare for a {folder.Config.ArchitectureName} SAE"),
            };
    }
}
