using System.Data.Common;

namespace Sweep.Jobs.Spec;

/// <summary>
/// Removes the password from a job's <c>output.database</c>, so that what Sweep stores and shows of a job (the
/// runs table, the report, the digest) never holds it. Understands what Sweep accepts there: a
/// <c>postgresql://user:password@host/db?password=...</c> URL or a <c>Key=Value;...</c> string (Npgsql's
/// <c>Password</c>, <c>PWD</c>, <c>PSW</c>). The connection itself still uses the password as given.
/// </summary>
public static class DatabasePassword
{
    private static readonly string[] PasswordKeys = ["password", "pwd", "psw"];

    /// <summary>The connection without its password (unchanged when it has none); a string that cannot be read becomes a placeholder.</summary>
    public static string Remove(string connection)
    {
        var text = connection.Trim();
        if (text.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase))
            return RemoveFromUrl(text);
        try
        {
            var builder = new DbConnectionStringBuilder { ConnectionString = text };
            if (!PasswordKeys.Any(builder.ContainsKey)) return text;
            foreach (var key in PasswordKeys) builder.Remove(key);
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "<unreadable connection string, password not shown>";
        }
    }

    public static bool IsIn(string connection) => Remove(connection) != connection.Trim();

    // postgresql://[user[:password]@][host][:port][/database][?query]
    private static string RemoveFromUrl(string text)
    {
        int start = text.IndexOf("://", StringComparison.Ordinal) + 3;
        int queryAt = text.IndexOf('?', start);
        var beforeQuery = queryAt < 0 ? text : text[..queryAt];
        int slash = beforeQuery.IndexOf('/', start);
        int authorityEnd = slash < 0 ? beforeQuery.Length : slash;
        int at = beforeQuery.LastIndexOf('@', authorityEnd - 1, authorityEnd - start);
        if (at >= 0)
        {
            int colon = beforeQuery.IndexOf(':', start, at - start);
            if (colon >= 0) beforeQuery = beforeQuery[..colon] + beforeQuery[at..];
        }
        if (queryAt < 0) return beforeQuery;
        var kept = text[(queryAt + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !PasswordKeys.Contains(Uri.UnescapeDataString(p.Split('=', 2)[0]), StringComparer.OrdinalIgnoreCase))
            .ToList();
        return kept.Count == 0 ? beforeQuery : beforeQuery + "?" + string.Join('&', kept);
    }
}
