using System.Globalization;
using System.Text;
using System.Text.Json;
using Parquet;
using Parquet.Schema;
using Parquet.Serialization;
using Sweep.Storage.Database;

namespace Sweep.Cli.Export;

public enum ExportFormat { Parquet, Csv }

/// <summary>
/// Writes every result table of a run (<see cref="ResultTable.All"/>) as one file each, <c>{table}.parquet</c> or
/// <c>{table}.csv</c>, for pandas/polars users (docs/schema.md, "Exporting a run"). Parquet through Parquet.Net:
/// column types follow PostgreSQL's (integer int32, bigint int64, smallint int16, real float, double precision double,
/// boolean, text and jsonb strings, timestamptz a UTC timestamp, arrays as lists), nullable exactly where the table
/// allows NULL, row groups of <see cref="BatchRows"/> rows. CSV (RFC 4180): a header, NULL as an empty field, arrays
/// as JSON arrays, numbers in the invariant culture with round-trip precision, times in ISO 8601. Each file is written
/// to a temporary name and renamed, so a failed export leaves no half-written file.
/// </summary>
public static class ResultExport
{
    public const int BatchRows = 50_000;

    /// <summary>Writes the files; returns (table, rows, path) for each.</summary>
    public static async Task<IReadOnlyList<(string Table, long Rows, string Path)>> WriteAsync(SweepDatabase database, long runId, ExportFormat format,
        string directory, CancellationToken ct)
    {
        directory = Path.GetFullPath(directory);
        try { Directory.CreateDirectory(directory); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new IOException($"cannot write the export to {directory}: {e.Message}", e); }
        var written = new List<(string, long, string)>();
        foreach (var table in ResultTable.All)
        {
            var path = Path.Combine(directory, table.Name + (format == ExportFormat.Parquet ? ".parquet" : ".csv"));
            var temporary = path + ".partial";
            long rows = 0;
            try
            {
                await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.ReadWrite))
                {
                    bool first = true;
                    CsvWriter? csv = format == ExportFormat.Csv ? new CsvWriter(stream) : null;
                    await database.ReadResultTableAsync(runId, table, BatchRows, async (columns, batch) =>
                    {
                        if (format == ExportFormat.Parquet) await ParquetBatch.WriteAsync(stream, columns, batch, append: !first, ct);
                        else await csv!.WriteAsync(columns, batch, header: first);
                        first = false;
                        rows += batch.Count;
                    }, ct);
                    if (csv is not null) await csv.FlushAsync();
                }
                File.Move(temporary, path, overwrite: true);
            }
            catch
            {
                File.Delete(temporary);
                throw;
            }
            written.Add((table.Name, rows, path));
        }
        return written;
    }

    /// <summary>One batch of rows as a Parquet row group (the first creates the file, later ones append).</summary>
    private static class ParquetBatch
    {
        public static async Task WriteAsync(Stream stream, IReadOnlyList<ResultColumn> columns, IReadOnlyList<object?[]> rows, bool append, CancellationToken ct)
        {
            // An empty table still gets a valid file with its schema (Parquet.Net writes no row group for no rows).
            var schema = new ParquetSchema(columns.Select(Field).ToArray());
            var data = rows.Select(row =>
            {
                var values = new Dictionary<string, object?>(columns.Count);
                for (int i = 0; i < columns.Count; i++) values[columns[i].Name] = Value(columns[i], row[i]);
                return (IDictionary<string, object?>)values;
            }).ToList();
            stream.Seek(0, SeekOrigin.Begin);
            await ParquetSerializer.SerializeUntypedAsync(data, schema, stream, new ParquetOptions { Append = append }, cancellationToken: ct);
        }

        private static Field Field(ResultColumn column)
        {
            var type = column.Type == typeof(DateTimeOffset) ? typeof(DateTime) : column.Type;
            // List elements are never NULL in Sweep's tables; Parquet.Net takes text elements as nullable memory, so those are declared nullable.
            if (column.IsArray) return new ListField(column.Name, new DataField("element", type, isNullable: type == typeof(string)));
            return new DataField(column.Name, type, isNullable: column.Nullable);
        }

        private static object? Value(ResultColumn column, object? value) => value switch
        {
            null => null,
            string[] texts => texts.Select(t => (ReadOnlyMemory<char>?)t.AsMemory()).ToArray(),
            DateTimeOffset time => time.UtcDateTime,
            _ => value,
        };
    }

    private sealed class CsvWriter(Stream stream)
    {
        private readonly StreamWriter _writer = new(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\r\n" };

        public async Task WriteAsync(IReadOnlyList<ResultColumn> columns, IReadOnlyList<object?[]> rows, bool header)
        {
            if (header) await _writer.WriteLineAsync(string.Join(',', columns.Select(c => Quote(c.Name))));
            foreach (var row in rows) await _writer.WriteLineAsync(string.Join(',', row.Select(Field)));
        }

        public Task FlushAsync() => _writer.FlushAsync();

        private static string Field(object? value) => value switch
        {
            null => "",
            string text => Quote(text),
            Array array => Quote(JsonSerializer.Serialize(array, array.GetType())),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            DateTime t => t.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture),
            IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
            _ => Quote(value.ToString() ?? ""),
        };

        private static string Quote(string text) =>
            text.IndexOfAny([',', '"', '\r', '\n']) < 0 && text.Length > 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";
    }
}
