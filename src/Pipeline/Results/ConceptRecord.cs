using Sweep.Storage.Database;

namespace Sweep.Pipeline.Results;

/// <summary>
/// The <c>'C'</c> record of a result file: one concept analysis unit's rows of the six concept tables, in this order, each
/// table as an i32 row count and its rows (docs/partials.md, "Result files"). Optional values are a byte (0 absent,
/// 1 present) and then the value; a vector is an i32 length (−1 for NULL) and its float64s.
/// <code>
/// concept_means:   analysis, model, site, label; i32 label_order; i64 n; reduction; f64[]? mean, variance; note?
/// contrast_labels: analysis, model, site, label, baseline; i64 n_label, n_baseline; i32 tested, significant; note?
/// contrasts:       analysis, model, site, label, baseline; i32 rank, feature; f64 mean_label, mean_baseline, difference;
///                  f64? t, df, p, q, cohens_d; i64 n_label, n_baseline; note?
/// selectivity:     analysis, model, site; i32 feature; preferred_label; i32 rank; index_kind; f64 selectivity,
///                  preferred_mean, others_mean; i32 count and the labels; f64[] means
/// pca_components:  analysis, model, site, source; i32 component; f64 explained_variance, ratio; i32 items; u8 cyclic;
///                  f64[] loading; note?
/// pca_coordinates: analysis, model, site, source; label?; i32? label_order; i64? item; i32 component; f64 value
/// </code>
/// </summary>
internal static class ConceptRecord
{
    public static void Write(BinaryWriter w, ConceptResults rows)
    {
        Rows(w, rows.Means, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Label); w.Write(r.LabelOrder); w.Write(r.N); w.Write(r.Reduction);
            Vector(w, r.Mean); Vector(w, r.Variance); Text(w, r.Note);
        });
        Rows(w, rows.ContrastLabels, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Label); w.Write(r.Baseline); w.Write(r.NLabel); w.Write(r.NBaseline);
            w.Write(r.Tested); w.Write(r.Significant); Text(w, r.Note);
        });
        Rows(w, rows.Contrasts, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Label); w.Write(r.Baseline); w.Write(r.Rank); w.Write(r.Feature);
            w.Write(r.MeanLabel); w.Write(r.MeanBaseline); w.Write(r.Difference);
            foreach (var v in new[] { r.T, r.Df, r.P, r.Q, r.CohensD }) Number(w, v);
            w.Write(r.NLabel); w.Write(r.NBaseline); Text(w, r.Note);
        });
        Rows(w, rows.Selectivity, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Feature); w.Write(r.PreferredLabel); w.Write(r.Rank); w.Write(r.IndexKind);
            w.Write(r.Selectivity); w.Write(r.PreferredMean); w.Write(r.OthersMean);
            w.Write(r.Labels.Length);
            foreach (var label in r.Labels) w.Write(label);
            Vector(w, r.Means);
        });
        Rows(w, rows.PcaComponents, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Source); w.Write(r.Component); w.Write(r.ExplainedVariance);
            w.Write(r.ExplainedVarianceRatio); w.Write(r.Items); w.Write(r.Cyclic); Vector(w, r.Loading); Text(w, r.Note);
        });
        Rows(w, rows.PcaCoordinates, r =>
        {
            Site(w, r.Analysis, r.Model, r.Site); w.Write(r.Source); Text(w, r.Label);
            w.Write(r.LabelOrder is not null); if (r.LabelOrder is { } order) w.Write(order);
            w.Write(r.Item is not null); if (r.Item is { } item) w.Write(item);
            w.Write(r.Component); w.Write(r.Value);
        });
    }

    public static ConceptResults Read(BinaryReader r) => new(
        Means: Rows(r, () => new ConceptMeanRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt64(), r.ReadString(),
            Vector(r), Vector(r), Text(r))),
        ContrastLabels: Rows(r, () => new ContrastLabelRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(),
            r.ReadInt64(), r.ReadInt64(), r.ReadInt32(), r.ReadInt32(), Text(r))),
        Contrasts: Rows(r, () => new ContrastRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt32(),
            r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), Number(r), Number(r), Number(r), Number(r), Number(r), r.ReadInt64(), r.ReadInt64(), Text(r))),
        Selectivity: Rows(r, () => new SelectivityRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadString(), r.ReadInt32(), r.ReadString(),
            r.ReadDouble(), r.ReadDouble(), r.ReadDouble(), [.. Enumerable.Range(0, Count(r)).Select(_ => r.ReadString())], Vector(r) ?? throw Damaged("selectivity means"))),
        PcaComponents: Rows(r, () => new PcaComponentRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadDouble(),
            r.ReadDouble(), r.ReadInt32(), r.ReadBoolean(), Vector(r) ?? throw Damaged("a loading"), Text(r))),
        PcaCoordinates: Rows(r, () => new PcaCoordinateRow(r.ReadString(), r.ReadString(), r.ReadString(), r.ReadString(), Text(r),
            r.ReadBoolean() ? r.ReadInt32() : null, r.ReadBoolean() ? r.ReadInt64() : null, r.ReadInt32(), r.ReadDouble())));

    private static void Rows<T>(BinaryWriter w, IReadOnlyList<T>? rows, Action<T> write)
    {
        w.Write(rows?.Count ?? 0);
        foreach (var row in rows ?? []) write(row);
    }

    private static List<T> Rows<T>(BinaryReader r, Func<T> read)
    {
        int count = Count(r);
        var rows = new List<T>(Math.Min(count, 1 << 16));
        for (int i = 0; i < count; i++) rows.Add(read());
        return rows;
    }

    private static int Count(BinaryReader r) => r.ReadInt32() is var n and >= 0 ? n : throw Damaged("a count");

    private static void Site(BinaryWriter w, string analysis, string model, string site) { w.Write(analysis); w.Write(model); w.Write(site); }

    private static void Vector(BinaryWriter w, double[]? values)
    {
        w.Write(values?.Length ?? -1);
        foreach (var v in values ?? []) w.Write(v);
    }

    private static double[]? Vector(BinaryReader r)
    {
        int length = r.ReadInt32();
        if (length < -1) throw Damaged("a vector's length");
        if (length == -1) return null;
        var values = new double[length];
        for (int i = 0; i < length; i++) values[i] = r.ReadDouble();
        return values;
    }

    private static void Number(BinaryWriter w, double? value)
    {
        w.Write(value is not null);
        if (value is { } v) w.Write(v);
    }

    private static double? Number(BinaryReader r) => r.ReadBoolean() ? r.ReadDouble() : null;

    private static void Text(BinaryWriter w, string? value)
    {
        w.Write(value is not null);
        if (value is not null) w.Write(value);
    }

    private static string? Text(BinaryReader r) => r.ReadBoolean() ? r.ReadString() : null;

    private static InvalidDataException Damaged(string what) => new($"result file: the concept record's {what} is damaged");
}
