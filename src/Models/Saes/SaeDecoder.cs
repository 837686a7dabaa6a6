namespace Sweep.Models.Saes;

/// <summary>
/// An SAE's decoder directions, one row per feature, read from its folder: W_dec [d_sae, d_in] of a SAELens or
/// sparsify SAE, D of a temporal SAE (both parts of its code, novel and pred, decode through D).
/// </summary>
public sealed record SaeDecoder(float[] Rows, int Features, int DIn)
{
    public static SaeDecoder Read(string directory) => Read(SaeLoader.Describe(directory));

    /// <summary>The decoder of a described SAE (a job's settings for a bare state dict included).</summary>
    public static SaeDecoder Read(SaeLoader.SaeFolder folder)
    {
        using var encoder = SaeLoader.Load(folder, "cpu");
        return encoder switch
        {
            SparseAutoencoder sae => new SaeDecoder(sae.WDec, sae.Config.DSae, sae.Config.DIn),
            TemporalSae temporal => new SaeDecoder(temporal.D, temporal.Config.DSae, temporal.Config.DIn),
            _ => throw new SaeLoadException($"{folder.Directory}: no decoder rows in a {encoder.Config.ArchitectureName} SAE"),
        };
    }
}
