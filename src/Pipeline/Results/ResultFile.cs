using System.Security.Cryptography;
using System.Text;
using Sweep.Storage.Database;

namespace Sweep.Pipeline.Results;

/// <summary>
/// The rows one attempt of a unit produced, as a file in the shared store, so that results never ride on messages
/// (docs/partials.md, "Result files"). Little-endian, written by <see cref="BinaryWriter"/>: strings are UTF-8 with a
/// 7-bit-encoded length prefix, an optional string is a byte (0 absent, 1 present) and then the string.
/// <code>
/// "SWRESULT"  u32 version (1)
/// record*     u8 tag, then its fields:
///   'O' output:        string? uri, string? checksum
///   'S' shard:         string key, model, site; i32 shard_index; i64 rows; i32 width; string dtype, uri, checksum; i64 bytes
///   'M' metric:        string analysis, measure, model_a, site_a; string? model_b, site_b;
///                      u8 0 then f64 value | u8 1 then string reason (undefined); i64 n_tokens; string params (JSON)
///   'F' feature match: string analysis, model_a, site_a, model_b, site_b, direction; i32 feature, rank;
///                      i32 match (-1: none); f64 correlation; u8 mutual; u8 dead
///   'X' feature rows:  every row of a features analysis, at most once per file (<see cref="FeatureRecords"/>)
///   'C' concept rows:  at most one: the unit's rows of the six concept tables, each with its count (<see cref="ConceptRecord"/>)
/// 'E'         i32 shards, metrics, feature matches (counts, checked on reading)
/// 32 bytes    SHA-256 of every byte before it: the file's checksum, the one the worker reports
/// </code>
/// Written to a temporary name and renamed, like shards; read only after its bytes hash to the checksum reported.
/// </summary>
public static class ResultFile
{
    private static readonly byte[] Magic = "SWRESULT"u8.ToArray();
    private const uint Version = 1;

    /// <summary>Writes <paramref name="output"/> to <paramref name="path"/> and returns what the worker reports about it.</summary>
    public static UnitReport Write(string path, UnitOutput output, bool reused)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = Path.Combine(Path.GetDirectoryName(path)!, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        var shards = output.Shards ?? [];
        var metrics = output.Metrics ?? [];
        var matches = output.FeatureMatches ?? [];
        byte[] digest;
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            using (var hashing = new HashingStream(file))
            {
                using (var w = new BinaryWriter(hashing, Encoding.UTF8, leaveOpen: true))
                {
                    w.Write(Magic);
                    w.Write(Version);
                    w.Write((byte)'O'); Optional(w, output.OutputUri); Optional(w, output.Checksum);
                    foreach (var s in shards)
                    {
                        w.Write((byte)'S');
                        w.Write(s.ShardKey); w.Write(s.Model); w.Write(s.Site); w.Write(s.ShardIndex); w.Write(s.Rows); w.Write(s.Width);
                        w.Write(s.Dtype); w.Write(s.Uri); w.Write(s.Checksum); w.Write(s.Bytes);
                    }
                    foreach (var m in metrics)
                    {
                        w.Write((byte)'M');
                        w.Write(m.Analysis); w.Write(m.Measure); w.Write(m.ModelA); w.Write(m.SiteA); Optional(w, m.ModelB); Optional(w, m.SiteB);
                        // An undefined value (or a non-finite one, which is stored as undefined) travels as its reason.
                        var (value, reason) = m.Stored;
                        if (reason is not null) { w.Write((byte)1); w.Write(reason); }
                        else { w.Write((byte)0); w.Write(value!.Value); }
                        w.Write(m.NTokens); w.Write(m.ParamsJson);
                    }
                    foreach (var f in matches)
                    {
                        w.Write((byte)'F');
                        w.Write(f.Analysis); w.Write(f.ModelA); w.Write(f.SiteA); w.Write(f.ModelB); w.Write(f.SiteB); w.Write(f.Direction);
                        w.Write(f.Feature); w.Write(f.Rank); w.Write(f.Match ?? -1); w.Write(f.Correlation); w.Write(f.Mutual); w.Write(f.Dead);
                    }
                    if (output.Features is { } features) FeatureRecords.Write(w, features);
                    if (output.Concepts is { } concepts) { w.Write((byte)'C'); ConceptRecord.Write(w, concepts); }
                    w.Write((byte)'E'); w.Write(shards.Count); w.Write(metrics.Count); w.Write(matches.Count);
                }
                digest = hashing.Digest();
                file.Write(digest);
            }
            File.Move(temp, path, overwrite: true);
            var checksum = Convert.ToHexStringLower(digest);
            return new UnitReport(path, checksum, new FileInfo(path).Length, shards.Count, metrics.Count, matches.Count, reused);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>The rows of the result file at <paramref name="path"/>, after checking that its SHA-256 is <paramref name="checksum"/>.</summary>
    public static UnitOutput Read(string path, string checksum)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < Magic.Length + 4 + 32 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
            throw new InvalidDataException($"{path}: not a Sweep result file");
        var actual = Convert.ToHexStringLower(SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32)));
        if (actual != Convert.ToHexStringLower(bytes.AsSpan(bytes.Length - 32)))
            throw new InvalidDataException($"{path}: result file damaged (its bytes do not hash to the SHA-256 it ends with)");
        if (actual != checksum)
            throw new InvalidDataException($"{path}: result file checksum {actual[..12]} differs from the reported {checksum[..Math.Min(12, checksum.Length)]}");
        using var r = new BinaryReader(new MemoryStream(bytes, 0, bytes.Length - 32), Encoding.UTF8);
        r.ReadBytes(Magic.Length);
        if (r.ReadUInt32() is var version && version != Version) throw new InvalidDataException($"{path}: result file version {version}, this Sweep reads {Version}");
        string? uri = null, outputChecksum = null;
        var shards = new List<ShardRow>();
        var metrics = new List<MetricRow>();
        var matches = new List<FeatureMatchRow>();
        FeatureResults? features = null;
        ConceptResults? concepts = null;
        while (true)
        {
            switch ((char)r.ReadByte())
            {
                case 'O':
                    uri = Optional(r); outputChecksum = Optional(r);
                    break;
                case 'S':
                    shards.Add(new ShardRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt64(), r.ReadInt32(),
                        r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt64()));
                    break;
                case 'M':
                {
                    string analysis = r.ReadString(), measure = r.ReadString(), modelA = r.ReadString(), siteA = r.ReadString();
                    string? modelB = Optional(r), siteB = Optional(r);
                    bool undefined = r.ReadByte() == 1;
                    string? reason = undefined ? r.ReadString() : null;
                    double? value = undefined ? null : r.ReadDouble();
                    metrics.Add(new MetricRow(analysis, measure, modelA, siteA, modelB, siteB, value, r.ReadInt64(), r.ReadString(), reason));
                    break;
                }
                case 'F':
                {
                    string analysis = r.ReadString(), modelA = r.ReadString(), siteA = r.ReadString(), modelB = r.ReadString(), siteB = r.ReadString(),
                        direction = r.ReadString();
                    int feature = r.ReadInt32(), rank = r.ReadInt32(), match = r.ReadInt32();
                    matches.Add(new FeatureMatchRow(analysis, modelA, siteA, modelB, siteB, direction, feature, rank, match >= 0 ? match : null,
                        r.ReadDouble(), r.ReadBoolean(), r.ReadBoolean()));
                    break;
                }
                case (char)FeatureRecords.Tag:
                    if (features is not null) throw new InvalidDataException($"{path}: two feature records in one result file");
                    features = FeatureRecords.Read(r);
                    break;
                case 'C':
                    if (concepts is not null) throw new InvalidDataException($"{path}: two concept records in one result file");
                    concepts = ConceptRecord.Read(r);
                    break;
                case 'E':
                    if ((r.ReadInt32(), r.ReadInt32(), r.ReadInt32()) != (shards.Count, metrics.Count, matches.Count))
                        throw new InvalidDataException($"{path}: result file row counts do not match its rows");
                    return new UnitOutput(uri, outputChecksum, shards, metrics, matches) { Features = features, Concepts = concepts };
                case var tag:
                    throw new InvalidDataException($"{path}: unknown record '{tag}' in result file");
            }
        }
    }

    private static void Optional(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    private static string? Optional(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}
