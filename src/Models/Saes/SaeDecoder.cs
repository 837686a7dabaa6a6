namespace Sweep.Models.Saes;

/// <summary>
/// An SAE's decoder directions, one row per feature, read from its folder: W_dec [d_sae, d_in] of a SAELens or
/// sparsify SAE, D of a temporal SAE (both parts of its code, novel and pred, decode through D).
/// </summary>
public sealed record SaeDecoder(float[] Rows, int Features, int DIn)
{
    public static SaeDecoder Read(string directory)
    {
        using var encoder = SaeLoader.Load(directory, "cpu");
        return encoder switch
        {
            SparseAutoencoder sae => new SaeDecoder(sae.WDec, sae.Config.DSae, sae.Config.DIn),
            TemporalSae temporal => new SaeDecoder(temporal.D, temporal.Config.DSae, temporal.Config.DIn),
            _ => throw new SaeLoadException($"{directory}: no decoder rows in a {encoder.Config.ArchitectureName} SAE"),
        };
    }
}
