using System.Globalization;

namespace Sweep.Cli.Reports;

/// <summary>How numbers appear in the report: invariant culture, six significant digits, so a table reads as the database holds it.</summary>
public static class ReportFormat
{
    public static string Number(double value) => value.ToString("G6", CultureInfo.InvariantCulture);

    /// <summary>A metric's value, or "undefined: REASON" when it has none (stored as NULL).</summary>
    public static string Value(Sweep.Storage.Database.MetricRow metric) =>
        metric.Stored is ({ } value, _) ? Number(value) : $"undefined: {metric.Stored.Reason}";

    /// <summary>Shorter, for heatmap cells.</summary>
    public static string Cell(double value) => double.IsNaN(value) ? "" : value.ToString("0.000", CultureInfo.InvariantCulture);

    /// <summary>An axis tick label: four significant digits, no trailing zeros.</summary>
    public static string Tick(double value) => value.ToString("G4", CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture) : "—";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end) =>
        start is { } s && end is { } e ? (e - s).ToString(@"hh\:mm\:ss\.f", CultureInfo.InvariantCulture) : "—";

    /// <summary>A file name from any text: ASCII letters, digits, '-', '_' and '.' stay, anything else (a '/', a space) becomes '_'.</summary>
    public static string FileName(string text) =>
        new(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray());
}
