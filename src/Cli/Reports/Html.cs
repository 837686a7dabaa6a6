using System.Text;

namespace Sweep.Cli.Reports;

/// <summary>Text into HTML: every piece of text from the database goes through <see cref="Escape"/>.</summary>
public static class Html
{
    /// <summary>Escapes the five characters that matter in element content and quoted attribute values.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        var escaped = new StringBuilder(text.Length);
        foreach (char c in text)
            escaped.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        return escaped.ToString();
    }
}
