using Sweep.Storage.Database;

namespace Sweep.Pipeline.Results;

/// <summary>
/// The <c>X</c> record of a result file (<see cref="ResultFile"/>): every row a <c>features</c> analysis stores, in one
/// record. Fields as <see cref="BinaryWriter"/> writes them (strings 7-bit length-prefixed UTF-8; an optional value is
/// a byte 0/1 then the value; an array is an int32 count then its elements):
/// <code>
/// i32 sites, stats, examples, coactivations, logits   (row counts, in this order)
/// site:        string analysis, model, site; string? sae; i32 width; i64 n_tokens; string? neuronpedia_id; string params
/// stat:        string analysis, model, site; i32 feature; i64 n_tokens, fired; f64 frequency, mean, max; f64? mean_when_active;
///              i16[] histogram_bins; i64[] histogram_counts
/// example:     string analysis, model, site; i32 feature; string kind; i32? stratum; i32 rank; f32 activation;
///              i32 seq, pos, token; string token_text; i32 window_start; i32[] window_tokens; string[] window_texts;
///              f32[] window_activations
/// coactivation: string analysis, model, site; i32 feature; string measure; i32 rank, partner; f64 value; i64 co_firings
/// logit:       string analysis, model, site; i32 feature; string direction; i32 rank, token; string token_text; f64 effect
/// </code>
/// </summary>
internal static class FeatureRecords
{
    public const byte Tag = (byte)'X';

    public static void Write(BinaryWriter w, FeatureResults f)
    {
        var (sites, stats, examples, partners, logits) = (f.Sites ?? [], f.Stats ?? [], f.Examples ?? [], f.Coactivations ?? [], f.Logits ?? []);
        w.Write(Tag);
        w.Write(sites.Count); w.Write(stats.Count); w.Write(examples.Count); w.Write(partners.Count); w.Write(logits.Count);
        foreach (var s in sites)
        {
            Key(w, s.Analysis, s.Model, s.Site); Optional(w, s.Sae); w.Write(s.Width); w.Write(s.NTokens); Optional(w, s.NeuronpediaId); w.Write(s.ParamsJson);
        }
        foreach (var s in stats)
        {
            Key(w, s.Analysis, s.Model, s.Site); w.Write(s.Feature); w.Write(s.NTokens); w.Write(s.Fired);
            w.Write(s.Frequency); w.Write(s.MeanActivation); w.Write(s.MaxActivation);
            w.Write(s.MeanWhenActive is not null); if (s.MeanWhenActive is { } m) w.Write(m);
            w.Write(s.HistogramBins.Length); foreach (var b in s.HistogramBins) w.Write(b);
            w.Write(s.HistogramCounts.Length); foreach (var c in s.HistogramCounts) w.Write(c);
        }
        foreach (var e in examples)
        {
            Key(w, e.Analysis, e.Model, e.Site); w.Write(e.Feature); w.Write(e.Kind);
            w.Write(e.Stratum is not null); if (e.Stratum is { } stratum) w.Write(stratum);
            w.Write(e.Rank); w.Write(e.Activation); w.Write(e.Seq); w.Write(e.Pos); w.Write(e.Token); w.Write(e.TokenText); w.Write(e.WindowStart);
            w.Write(e.WindowTokens.Length); foreach (var t in e.WindowTokens) w.Write(t);
            w.Write(e.WindowTexts.Length); foreach (var t in e.WindowTexts) w.Write(t);
            w.Write(e.WindowActivations.Length); foreach (var a in e.WindowActivations) w.Write(a);
        }
        foreach (var p in partners)
        {
            Key(w, p.Analysis, p.Model, p.Site); w.Write(p.Feature); w.Write(p.Measure); w.Write(p.Rank); w.Write(p.Partner); w.Write(p.Value); w.Write(p.CoFirings);
        }
        foreach (var l in logits)
        {
            Key(w, l.Analysis, l.Model, l.Site); w.Write(l.Feature); w.Write(l.Direction); w.Write(l.Rank); w.Write(l.Token); w.Write(l.TokenText); w.Write(l.Effect);
        }
    }

    /// <summary>Reads the record after its tag.</summary>
    public static FeatureResults Read(BinaryReader r)
    {
        int[] counts = [r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32()];
        if (counts.Any(c => c < 0)) throw new InvalidDataException("feature record with a negative row count");
        var sites = Rows(counts[0], () => new FeatureSiteRow(r.ReadString(), r.ReadString(), r.ReadString(), Optional(r), r.ReadInt32(), r.ReadInt64(),
            Optional(r), r.ReadString()));
        var stats = Rows(counts[1], () =>
        {
            var (analysis, model, site, feature, tokens, fired) = (r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt64(), r.ReadInt64());
            var (frequency, mean, max) = (r.ReadDouble(), r.ReadDouble(), r.ReadDouble());
            double? meanWhenActive = r.ReadBoolean() ? r.ReadDouble() : null;
            var bins = Array(r, r.ReadInt16);
            return new FeatureStatRow(analysis, model, site, feature, tokens, fired, frequency, mean, max, meanWhenActive, bins, Array(r, r.ReadInt64));
        });
        var examples = Rows(counts[2], () =>
        {
            var (analysis, model, site, feature, kind) = (r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadString());
            int? stratum = r.ReadBoolean() ? r.ReadInt32() : null;
            var (rank, activation, seq, pos, token, text, start) = (r.ReadInt32(), r.ReadSingle(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadString(), r.ReadInt32());
            var (tokens, texts) = (Array(r, r.ReadInt32), Array(r, r.ReadString));
            return new TopExampleRow(analysis, model, site, feature, kind, stratum, rank, activation, seq, pos, token, text, start, tokens, texts, Array(r, r.ReadSingle));
        });
        var partners = Rows(counts[3], () => new FeatureCoactivationRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadString(),
            r.ReadInt32(), r.ReadInt32(), r.ReadDouble(), r.ReadInt64()));
        var logits = Rows(counts[4], () => new FeatureLogitRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadString(),
            r.ReadInt32(), r.ReadInt32(), r.ReadString(), r.ReadDouble()));
        return new FeatureResults(sites, stats, examples, partners, logits);
    }

    /// <summary><paramref name="count"/> rows, each read by <paramref name="read"/>.</summary>
    private static List<T> Rows<T>(int count, Func<T> read)
    {
        var rows = new List<T>(count);
        for (int i = 0; i < count; i++) rows.Add(read());
        return rows;
    }

    private static T[] Array<T>(BinaryReader r, Func<T> read)
    {
        int count = r.ReadInt32();
        if (count < 0) throw new InvalidDataException("feature record with a negative array length");
        var values = new T[count];
        for (int i = 0; i < count; i++) values[i] = read();
        return values;
    }

    private static void Key(BinaryWriter w, string analysis, string model, string site) { w.Write(analysis); w.Write(model); w.Write(site); }

    private static void Optional(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    private static string? Optional(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;
}
