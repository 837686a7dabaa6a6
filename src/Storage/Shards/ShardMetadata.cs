using System.Globalization;
using System.Reflection;
using Sweep.Identity;

namespace Sweep.Storage.Shards;

/// <summary>
/// What a shard holds and where it came from. Travels inside the file as Arrow schema
/// metadata under the <c>sweep.*</c> keys (see docs/shard-format.md).
/// </summary>
public sealed record ShardMetadata
{
    /// <summary>The newest shard format version this Sweep reads (docs/shard-format.md); each file states the one it needs.</summary>
    public const int CurrentFormatVersion = 2;

    public const string KeyModel = "sweep.model";
    public const string KeySite = "sweep.site";
    public const string KeyWidth = "sweep.width";
    public const string KeyDtype = "sweep.dtype";
    public const string KeyWeightsDigest = "sweep.weights_digest";
    public const string KeyTokenizerDigest = "sweep.tokenizer_digest";
    public const string KeyCorpusShardDigest = "sweep.corpus_shard_digest";
    public const string KeyShardIndex = "sweep.shard_index";
    public const string KeyFormatVersion = "sweep.format_version";
    public const string KeyCodeVersion = "sweep.code_version";
    public const string KeyKind = "sweep.kind";
    public const string KeyComputeDtype = "sweep.compute_dtype";
    public const string KindDense = "dense";
    public const string KindSparse = "sparse";

    public static IReadOnlyList<string> AllKeys { get; } =
    [
        KeyModel, KeySite, KeyWidth, KeyDtype, KeyWeightsDigest, KeyTokenizerDigest,
        KeyCorpusShardDigest, KeyShardIndex, KeyFormatVersion, KeyCodeVersion, KeyKind, KeyComputeDtype,
    ];

    /// <summary>The informational version of this assembly (includes the commit when the build knows it).</summary>
    public static string CurrentCodeVersion { get; } =
        typeof(ShardMetadata).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ShardMetadata).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    /// <summary>The model's name in the job.</summary>
    public required string Model { get; init; }
    /// <summary>TransformerLens hook name, e.g. <c>blocks.3.hook_resid_post</c>.</summary>
    public required string Site { get; init; }
    /// <summary>Length of each activation vector.</summary>
    public required int Width { get; init; }
    /// <summary>How <c>act</c> is stored (<see cref="ShardDtype"/>): float32, float16 or bfloat16 for dense shards; sparse codes are float32.</summary>
    public string Dtype { get; init; } = ShardDtype.Float32;
    public required string WeightsDigest { get; init; }
    public required string TokenizerDigest { get; init; }
    public required string CorpusShardDigest { get; init; }
    /// <summary>Index of the corpus shard this file covers (0-based).</summary>
    public required int ShardIndex { get; init; }
    /// <summary>The format version the file is written as: the oldest that describes it (<see cref="ShardDtype.FormatVersionOf"/>).</summary>
    public int FormatVersion => ShardDtype.FormatVersionOf(Dtype);
    public string CodeVersion { get; init; } = CurrentCodeVersion;
    public string Kind { get; init; } = KindDense;
    /// <summary>The dtype the model computed in (execution.dtype): float32, bfloat16 or float16. Activations are stored as <see cref="Dtype"/>.</summary>
    public string ComputeDtype { get; init; } = "float32";

    /// <summary>For sparse shards: which SAE produced the codes (see SparseShardFile); null for dense shards.</summary>
    public SaeIdentity? Sae { get; init; }

    /// <summary>
    /// Content address of the shard: equal keys mean the same activations, so a later run may
    /// reuse the file. Hashes what determines the numbers, not who asked (model name, code version).
    /// </summary>
    public string CacheKey() =>
        Keys.Shard(FormatVersion, Kind, WeightsDigest, Site, TokenizerDigest, CorpusShardDigest, Dtype, Width, ComputeDtype, Sae?.CacheKeyFields());

    public IReadOnlyDictionary<string, string> ToDictionary()
    {
        var values = DenseDictionary();
        if (Sae is { } sae) foreach (var (k, v) in sae.ToDictionary()) values[k] = v;
        return values;
    }

    private Dictionary<string, string> DenseDictionary() => new()
    {
        [KeyModel] = Model,
        [KeySite] = Site,
        [KeyWidth] = Width.ToString(CultureInfo.InvariantCulture),
        [KeyDtype] = Dtype,
        [KeyWeightsDigest] = WeightsDigest,
        [KeyTokenizerDigest] = TokenizerDigest,
        [KeyCorpusShardDigest] = CorpusShardDigest,
        [KeyShardIndex] = ShardIndex.ToString(CultureInfo.InvariantCulture),
        [KeyFormatVersion] = FormatVersion.ToString(CultureInfo.InvariantCulture),
        [KeyCodeVersion] = CodeVersion,
        [KeyKind] = Kind,
        [KeyComputeDtype] = ComputeDtype,
    };

    /// <summary>
    /// Parses the <c>sweep.*</c> keys; throws <see cref="ShardFormatException"/> naming every missing or bad key, a format
    /// version newer than this Sweep reads, an unknown dtype, or a version that does not match the dtype.
    /// </summary>
    public static ShardMetadata FromDictionary(IReadOnlyDictionary<string, string>? values)
    {
        values ??= new Dictionary<string, string>();
        var missing = AllKeys.Where(k => !values.ContainsKey(k)).ToList();
        if (missing.Count > 0)
            throw new ShardFormatException($"missing shard metadata key(s) {string.Join(", ", missing)}");

        int Int(string key) =>
            int.TryParse(values[key], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new ShardFormatException($"shard metadata key {key} must be an integer, found '{values[key]}'");

        CheckVersion(Int(KeyFormatVersion), values[KeyDtype]);
        return new ShardMetadata
        {
            Model = values[KeyModel],
            Site = values[KeySite],
            Width = Int(KeyWidth),
            Dtype = values[KeyDtype],
            WeightsDigest = values[KeyWeightsDigest],
            TokenizerDigest = values[KeyTokenizerDigest],
            CorpusShardDigest = values[KeyCorpusShardDigest],
            ShardIndex = Int(KeyShardIndex),
            CodeVersion = values[KeyCodeVersion],
            Kind = values[KeyKind],
            ComputeDtype = values[KeyComputeDtype],
            Sae = values[KeyKind] == KindSparse ? SaeIdentity.FromDictionary(values) : null,
        };
    }

    private static void CheckVersion(int version, string dtype)
    {
        if (version > CurrentFormatVersion)
            throw new ShardFormatException($"written with shard format version {version}; this Sweep reads up to version {CurrentFormatVersion}, upgrade Sweep");
        if (version < 1) throw new ShardFormatException($"invalid shard format version {version}");
        if (!ShardDtype.All.Contains(dtype))
            throw new ShardFormatException($"dtype '{dtype}' is not supported by this reader (expected {ShardDtype.Names})");
        if (version != ShardDtype.FormatVersionOf(dtype))
            throw new ShardFormatException($"dtype '{dtype}' is written as shard format version {ShardDtype.FormatVersionOf(dtype)}, the file says {version}");
    }
}
