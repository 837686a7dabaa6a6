using Npgsql;

namespace Sweep.Storage.Database;

/// <summary>
/// Accepts <c>postgresql://user:pass@host:port/db?param=value</c> URLs (as libpq and psql do) and
/// Npgsql <c>Key=Value;...</c> strings, and turns them into Npgsql connection strings.
/// </summary>
public static class ConnectionStrings
{
    // URL query parameters (libpq names) and the Npgsql keyword each maps to.
    private static readonly Dictionary<string, string> QueryKeywords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["host"] = "Host",
        ["port"] = "Port",
        ["user"] = "Username",
        ["password"] = "Password",
        ["dbname"] = "Database",
        ["sslmode"] = "SSL Mode",
        ["application_name"] = "Application Name",
        ["connect_timeout"] = "Timeout",
        ["options"] = "Options",
        ["target_session_attrs"] = "Target Session Attributes",
    };

    public static bool IsUrl(string value) =>
        value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase) ||
        value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Returns an Npgsql connection string; throws <see cref="ArgumentException"/> with a one-line reason (no password) when it cannot be parsed.</summary>
    public static string Normalize(string connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var text = connection.Trim();
        if (text.Length == 0) throw new ArgumentException("empty database connection string");
        return IsUrl(text) ? FromUrl(text).ConnectionString : Parse(text).ConnectionString;
    }

    /// <summary>The same connection with its password removed, safe to print. Unparsable input gives a placeholder, never the input.</summary>
    public static string Redact(string connection)
    {
        try
        {
            var text = connection.Trim();
            if (IsUrl(text)) return RedactUrl(text);
            var builder = Parse(text);
            builder.Remove("Password");
            return builder.ConnectionString;
        }
        catch (ArgumentException)
        {
            return "<unparsable connection string>";
        }
    }

    /// <summary>Whether the connection carries a password (in the URL's user info, a <c>password</c> parameter or a <c>Password=</c> key).</summary>
    public static bool HasPassword(string connection)
    {
        try { return !string.IsNullOrEmpty(Parse(Normalize(connection)).Password); }
        catch (ArgumentException) { return false; }
    }

    /// <summary><c>host:port/database</c> of a connection, for messages (a socket directory stands in for the host).</summary>
    public static string Describe(string connection)
    {
        try
        {
            var builder = Parse(Normalize(connection));
            var host = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
            var database = builder.Database ?? builder.Username ?? "postgres";
            return $"{host}:{builder.Port}/{database}";
        }
        catch (ArgumentException)
        {
            return "<unparsable connection string>";
        }
    }

    private static NpgsqlConnectionStringBuilder Parse(string text)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(text);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or KeyNotFoundException)
        {
            // Npgsql's message may quote the input, password included; keep only the kind of problem.
            throw new ArgumentException($"invalid database connection string ({ex.GetType().Name}): expected postgresql://user:password@host:port/database or Host=...;Database=...", ex);
        }
    }

    private static NpgsqlConnectionStringBuilder FromUrl(string text)
    {
        var (userInfo, hostPort, database, query) = SplitUrl(text);
        var builder = new NpgsqlConnectionStringBuilder();

        if (userInfo is not null)
        {
            var colon = userInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
        }

        if (hostPort.Length > 0)
        {
            string host;
            string? port = null;
            if (hostPort.StartsWith('['))
            {
                var close = hostPort.IndexOf(']');
                if (close < 0) throw new ArgumentException("invalid database URL: unclosed '[' in the host");
                host = hostPort[1..close];
                if (close + 1 < hostPort.Length && hostPort[close + 1] == ':') port = hostPort[(close + 2)..];
            }
            else
            {
                var colon = hostPort.LastIndexOf(':');
                host = colon < 0 ? hostPort : hostPort[..colon];
                if (colon >= 0) port = hostPort[(colon + 1)..];
            }
            builder.Host = Uri.UnescapeDataString(host);
            if (!string.IsNullOrEmpty(port)) builder.Port = ParsePort(port);
        }

        if (database.Length > 0) builder.Database = Uri.UnescapeDataString(database);

        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!QueryKeywords.TryGetValue(name, out var keyword))
                throw new ArgumentException($"unsupported database URL parameter '{name}' (supported: {string.Join(", ", QueryKeywords.Keys)})");
            if (keyword == "Port") builder.Port = ParsePort(value);
            else builder[keyword] = value;
        }

        if (string.IsNullOrEmpty(builder.Host)) builder.Host = "localhost";
        return builder;
    }

    private static int ParsePort(string text) =>
        int.TryParse(text, out var port) && port is > 0 and < 65536
            ? port
            : throw new ArgumentException($"invalid port '{text}' in the database URL");

    // postgresql://[userinfo@][host][:port][/database][?query]; the host may be empty (Unix socket via ?host=/dir).
    private static (string? UserInfo, string HostPort, string Database, string Query) SplitUrl(string text)
    {
        var rest = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var query = "";
        var q = rest.IndexOf('?');
        if (q >= 0) (rest, query) = (rest[..q], rest[(q + 1)..]);
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var database = slash < 0 ? "" : rest[(slash + 1)..];
        var at = authority.LastIndexOf('@');
        return at < 0 ? (null, authority, database, query) : (authority[..at], authority[(at + 1)..], database, query);
    }

    private static string RedactUrl(string text)
    {
        var scheme = text[..(text.IndexOf("://", StringComparison.Ordinal) + 3)];
        var (userInfo, hostPort, database, query) = SplitUrl(text);
        var user = userInfo is null ? null : userInfo.Split(':', 2)[0];
        var keptQuery = string.Join('&', query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !Uri.UnescapeDataString(p.Split('=', 2)[0]).Equals("password", StringComparison.OrdinalIgnoreCase)));
        return scheme + (user is null ? "" : user + "@") + hostPort +
               (database.Length > 0 ? "/" + database : "") + (keptQuery.Length > 0 ? "?" + keptQuery : "");
    }
}
