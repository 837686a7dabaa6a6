using System.Globalization;
using Sweep.Identity;

namespace Sweep.Storage.Shards;

/// <summary>
/// Which sparse autoencoder produced a sparse shard's codes. Travels in the schema metadata under
/// <c>sweep.sae_*</c> keys (docs/shard-format.md, "Sparse shards").
/// </summary>
/// <param name="Name">The SAE's name in the job.</param>
/// <param name="Digest">Content digest of the SAE's files (<c>sha256:…</c>): equal digests, equal codes.</param>
/// <param name="Hook">The hook point whose activations were encoded, e.g. <c>blocks.3.hook_resid_post</c>.</param>
/// <param name="Codes"><c>codes</c> for an ordinary SAE; <c>novel</c> or <c>pred</c> for the two parts of a temporal SAE.</param>
/// <param name="Architecture">standard, topk, jumprelu or temporal (informational).</param>
/// <param name="NeuronpediaId">The SAE's Neuronpedia id when it has one, else empty.</param>
public sealed record SaeIdentity(string Name, string Digest, string Hook, string Codes = "codes", string Architecture = "", string NeuronpediaId = "")
{
    public const string KeyName = "sweep.sae_name";
    public const string KeyDigest = "sweep.sae_digest";
    public const string KeyHook = "sweep.sae_hook";
    public const string KeyCodes = "sweep.sae_codes";
    public const string KeyArchitecture = "sweep.sae_architecture";
    public const string KeyNeuronpediaId = "sweep.sae_neuronpedia_id";

    /// <summary>Written only when not float32, so files from before the key existed read as what they are.</summary>
    public const string KeyInputDtype = "sweep.sae_input_dtype";

    public static IReadOnlyList<string> AllKeys { get; } = [KeyName, KeyDigest, KeyHook, KeyCodes, KeyArchitecture, KeyNeuronpediaId];

    /// <summary>How the encoded activations were stored (<see cref="ShardDtype"/>): codes of rounded activations are other codes.</summary>
    public string InputDtype { get; init; } = ShardDtype.Float32;

    /// <summary>The addressable site of these codes: <c>{hook}/sae/{name}</c>, plus <c>/novel</c> or <c>/pred</c> for a temporal SAE.</summary>
    public static string SiteOf(string hook, string name, string codes = "codes") => Keys.SaeSite(hook, name, codes);

    internal Keys.SaeCodes CacheKeyFields() => new(Digest, Hook, Codes, InputDtype);

    internal IReadOnlyDictionary<string, string> ToDictionary()
    {
        var values = new Dictionary<string, string>
        {
            [KeyName] = Name, [KeyDigest] = Digest, [KeyHook] = Hook, [KeyCodes] = Codes,
            [KeyArchitecture] = Architecture, [KeyNeuronpediaId] = NeuronpediaId,
        };
        if (InputDtype != ShardDtype.Float32) values[KeyInputDtype] = InputDtype;
        return values;
    }

    internal static SaeIdentity FromDictionary(IReadOnlyDictionary<string, string> values)
    {
        var missing = AllKeys.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ShardFormatException($"missing sparse shard metadata key(s) {string.Join(", ", missing)}");
        var inputDtype = values.GetValueOrDefault(KeyInputDtype, ShardDtype.Float32);
        if (!ShardDtype.All.Contains(inputDtype))
            throw new ShardFormatException($"{KeyInputDtype} '{inputDtype}' is not one of {ShardDtype.Names}");
        return new SaeIdentity(values[KeyName], values[KeyDigest], values[KeyHook], values[KeyCodes], values[KeyArchitecture], values[KeyNeuronpediaId])
        {
            InputDtype = inputDtype,
        };
    }
}

/// <summary>
/// Sparse codes of one SAE over one corpus shard, one row per token in ascending (seq, pos) order,
/// stored like CSR: row r's non-zero codes are <c>Indices/Values[Offsets[r] .. Offsets[r+1])</c>, feature
/// indices strictly ascending within a row. <c>Metadata.Width</c> is the SAE's d_sae.
/// </summary>
public sealed record SparseShard(ShardMetadata Metadata, int Rows, int[] Seq, int[] Pos, int[] Token, int[] Offsets, int[] Indices, float[] Values)
{
    public const string KeyReconstructionSse = "sweep.sae_sse";

    /// <summary>
    /// Sum over the shard's tokens of the squared reconstruction error ‖x - x̂‖² (float64), kept so a run's fraction of
    /// variance explained can be merged from shards without the SAE; NaN when unknown. Not part of the cache key.
    /// </summary>
    public double ReconstructionSse { get; init; } = double.NaN;

    public ReadOnlySpan<int> RowIndices(int row) => Indices.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);
    public ReadOnlySpan<float> RowValues(int row) => Values.AsSpan(Offsets[row], Offsets[row + 1] - Offsets[row]);

    /// <summary>Checks lengths, offsets, index order and metadata; throws <see cref="ArgumentException"/> saying which part is wrong.</summary>
    public void Validate()
    {
        var width = Metadata.Width;
        if (width <= 0) throw new ArgumentException($"sparse shard width (d_sae) must be positive, got {width}");
        if (Rows < 0) throw new ArgumentException($"shard rows must be non-negative, got {Rows}");
        if (Metadata.Kind != ShardMetadata.KindSparse) throw new ArgumentException($"a sparse shard must have kind 'sparse', got '{Metadata.Kind}'");
        if (Metadata.Sae is null) throw new ArgumentException("a sparse shard's metadata must name its SAE (Sae)");
        if (Metadata.Dtype != ShardDtype.Float32) throw new ArgumentException($"sparse shards hold float32 codes, metadata says dtype '{Metadata.Dtype}'");
        if (!ShardDtype.All.Contains(Metadata.Sae.InputDtype))
            throw new ArgumentException($"the SAE's input dtype '{Metadata.Sae.InputDtype}' is not one of {ShardDtype.Names}");
        if (Seq.Length != Rows) throw new ArgumentException($"seq has {Seq.Length} values for {Rows} rows");
        if (Pos.Length != Rows) throw new ArgumentException($"pos has {Pos.Length} values for {Rows} rows");
        if (Token.Length != Rows) throw new ArgumentException($"token has {Token.Length} values for {Rows} rows");
        if (Offsets.Length != Rows + 1) throw new ArgumentException($"offsets has {Offsets.Length} values, expected rows + 1 = {Rows + 1}");
        if (Offsets[0] != 0) throw new ArgumentException($"offsets must start at 0, got {Offsets[0]}");
        if (Indices.Length != Values.Length) throw new ArgumentException($"idx has {Indices.Length} values but val has {Values.Length}");
        if (Offsets[Rows] != Indices.Length) throw new ArgumentException($"offsets end at {Offsets[Rows]} but idx has {Indices.Length} values");
        for (int r = 0; r < Rows; r++)
        {
            int start = Offsets[r], end = Offsets[r + 1];
            if (end < start) throw new ArgumentException($"offsets decrease at row {r}");
            for (int i = start; i < end; i++)
            {
                int f = Indices[i];
                if (f < 0 || f >= width) throw new ArgumentException($"row {r}: feature index {f} is outside 0..{width - 1} (d_sae {width})");
                if (i > start && f <= Indices[i - 1])
                    throw new ArgumentException($"row {r}: feature indices must be strictly ascending, {f} follows {Indices[i - 1]}");
            }
        }
    }

    /// <summary>Number of non-zero codes (the row's L0) of row <paramref name="row"/>.</summary>
    public int L0(int row) => Offsets[row + 1] - Offsets[row];

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"SparseShard({Metadata.Model}/{Metadata.Site} shard {Metadata.ShardIndex}, {Rows} rows, {Indices.Length} codes)");
}
