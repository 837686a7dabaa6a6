using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Sweep.Identity;

/// <summary>
/// Every name that identifies stored or scheduled work, computed in one place: unit keys (the ledger's primary key
/// within a run), shard cache keys (content addresses of activation files), SAE site names, trained SAE folders,
/// partial-statistics and result file names. Each key is SHA-256 (lowercase hex) over fields joined by '\n'.
/// Keys of work that outlives a version (capture units, shards, trained SAEs) must never change by accident: a run
/// made before would no longer find its files. <c>KeyPinningTests</c> pins them; docs/jobs.md describes them.
/// </summary>
public static class Keys
{
    /// <summary>Version of the activation shard format as far as capture unit keys see it (a format change invalidates caches).</summary>
    public const int CaptureFormatVersion = 1;

    /// <summary>SHA-256 (hex) over the fields joined by '\n'.</summary>
    public static string Hash(IEnumerable<string> fields) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(string.Join("\n", fields))));

    public static string Hash(params string[] fields) => Hash((IEnumerable<string>)fields);

    /// <summary>One SHA-256 over several hex digests in order: the checksum of a unit's set of output files.</summary>
    public static string Combine(IEnumerable<string> digests) => Hash(digests);

    // ---- capture ----

    /// <summary>
    /// Ledger key of one model's capture of a corpus shard: the model's name in the job (two names for the same weights
    /// are two units), format version, weights, sorted sites, tokenizer, shard, dtype, and the storage dtype when it is
    /// not float32 (so float32 captures keep the keys they had).
    /// </summary>
    public static string Capture(string model, string weightsDigest, IEnumerable<string> sites, string tokenizerDigest, string corpusShardDigest,
        string dtype, string shardDtype = "float32")
    {
        string[] fields =
        [
            "sweep.capture", $"format={CaptureFormatVersion}", $"model={model}", $"weights={weightsDigest}",
            $"sites={string.Join(",", sites.Order(StringComparer.Ordinal))}", $"tokenizer={tokenizerDigest}",
            $"shard={corpusShardDigest}", $"dtype={dtype}",
        ];
        return Hash(shardDtype == "float32" ? fields : [.. fields, $"shard_dtype={shardDtype}"]);
    }

    // ---- shards ----

    /// <summary>What a sparse shard's cache key adds for the SAE that wrote its codes.</summary>
    /// <param name="InputDtype">How the encoded activations were stored; float32 adds nothing (keys from before the field).</param>
    public sealed record SaeCodes(string Digest, string Hook, string Codes, string InputDtype = "float32");

    /// <summary>
    /// Content address of one shard: equal keys mean the same numbers, so a later run may reuse the file. Hashes what
    /// determines the numbers, not who asked (model name, code version).
    /// </summary>
    public static string Shard(int formatVersion, string kind, string weightsDigest, string site, string tokenizerDigest, string corpusShardDigest,
        string dtype, int width, string computeDtype, SaeCodes? sae = null)
    {
        var canonical = string.Join('\n',
            "sweep-shard", formatVersion.ToString(CultureInfo.InvariantCulture), kind, weightsDigest, site,
            tokenizerDigest, corpusShardDigest, dtype, width.ToString(CultureInfo.InvariantCulture), "compute=" + computeDtype);
        if (sae is not null)
            canonical += string.Concat("\n", sae.Digest, "\n", sae.Hook, "\n", sae.Codes, sae.InputDtype == "float32" ? "" : "\ninput=" + sae.InputDtype);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
    }

    // ---- SAEs ----

    /// <summary>The addressable site of an SAE's codes: <c>{hook}/sae/{name}</c>, plus <c>/novel</c> or <c>/pred</c> for a temporal SAE.</summary>
    public static string SaeSite(string hook, string name, string codes = "codes") =>
        codes == "codes" ? $"{hook}/sae/{name}" : $"{hook}/sae/{name}/{codes}";

    /// <summary>Whether <paramref name="site"/> names SAE codes (<see cref="SaeSite"/>) rather than a hook point.</summary>
    public static bool IsSaeSite(string site) => site.Contains("/sae/", StringComparison.Ordinal);

    /// <summary>
    /// Version of the SAE trainer's numerics as far as trained SAE folders see it: raised whenever a code change makes
    /// the same settings train different weights, so a store never reuses an SAE that this code would not train.
    /// 2: TopK encoding in tiles (issue 16).
    /// </summary>
    public const int TrainerVersion = 2;

    /// <summary>Key of a <c>train_sae</c> unit: name, model, site, every training setting, and the capture keys it reads.</summary>
    public static string TrainSae(string name, string model, string site, string trainingKey, IEnumerable<string> captureKeys) =>
        Hash(["sweep.train_sae", name, model, site, trainingKey, .. captureKeys]);

    /// <summary>
    /// Folder name of a trained SAE under <c>{store}/saes</c>: <c>{name}-{key16}</c>, the key hashing everything that
    /// determines its weights (model weights, site, tokenizer, training settings, the trainer's version, every corpus
    /// shard; the storage dtype when it is not float32, since training reads the stored activations), so a later run
    /// reuses it.
    /// </summary>
    public static string TrainedSaeFolder(string name, string weightsDigest, string site, string tokenizerDigest, string trainingKey,
        IEnumerable<string> corpusShardDigests, string shardDtype = "float32")
    {
        var fields = new List<string>
        {
            "sweep.train_sae", $"weights={weightsDigest}", $"site={site}", $"tokenizer={tokenizerDigest}", $"options={trainingKey}",
        };
        if (TrainerVersion != 1) fields.Add($"trainer={TrainerVersion}");
        fields.AddRange(corpusShardDigests.Select(d => $"shard={d}"));
        if (shardDtype != "float32") fields.Add($"shard_dtype={shardDtype}");
        return SafeSegment(name) + "-" + Hash(fields)[..16];
    }

    /// <summary>Key of the <c>sae_stats</c> unit of a published SAE's output: the SAE, the output, its folder and the captures that encode it.</summary>
    public static string PublishedSaeStats(string name, string output, string path, IEnumerable<string> captureKeys) =>
        Hash(["sweep.sae_stats", name, output, $"path={path}", .. captureKeys]);

    /// <summary>Key of the <c>sae_stats</c> unit of a trained SAE: the SAE and its training unit.</summary>
    public static string TrainedSaeStats(string name, string trainKey) => Hash("sweep.sae_stats", name, "codes", trainKey);

    // ---- analyses ----

    /// <summary>
    /// Key of one analysis unit of one site pair (or one site, <paramref name="b"/> null). The analysis name is part of
    /// it so two analyses of the same kind never share a unit; <paramref name="parameters"/> is the kind's canonical
    /// "key=value,..." text; <paramref name="role"/> says which unit of the pair's plan it is (<c>map 0-3</c>,
    /// <c>merge 0-7</c>, <c>finalize</c>); <paramref name="inputs"/> are the keys of the units it reads.
    /// </summary>
    public static string Analysis(string analysis, string kind, string a, string? b, string parameters, string role, IEnumerable<string> inputs) =>
        Hash(["sweep.analysis", $"analysis={analysis}", $"kind={kind}", $"a={a}", $"b={b ?? ""}", $"params={parameters}", $"role={role}",
            $"inputs={string.Join(",", inputs)}"]);

    // ---- files ----

    /// <summary>Where a run's partial statistics live under the store: <c>partials/run-{id}</c>.</summary>
    public static string PartialsFolder(long runId) => Path.Combine("partials", "run-" + runId.ToString(CultureInfo.InvariantCulture));

    /// <summary>File name of the partial statistics a unit writes: the unit's key.</summary>
    public static string PartialFile(string unitKey) => unitKey + ".partial";

    /// <summary>Where a run's result files live under the store: <c>results/run-{id}</c>.</summary>
    public static string ResultsFolder(long runId) => Path.Combine("results", "run-" + runId.ToString(CultureInfo.InvariantCulture));

    /// <summary>File name of the rows one lease of a unit produced: <c>{unitKey}.{lease}.rows</c> (two attempts never share a file).</summary>
    public static string ResultFile(string unitKey, int lease) => $"{unitKey}.{lease.ToString(CultureInfo.InvariantCulture)}.rows";

    /// <summary>A name usable as one path segment: letters, digits, '.', '-', '_' kept; anything else becomes '_'.</summary>
    public static string SafeSegment(string name)
    {
        var builder = new StringBuilder(name.Length);
        foreach (var c in name) builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        var segment = builder.ToString();
        return segment is "" or "." or ".." ? "_" + segment : segment;
    }
}
