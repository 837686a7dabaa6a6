namespace Sweep.Models.Demo;

/// <summary>
/// Brown part-of-speech tags folded into ten coarse classes, as NLTK's Brown-to-universal map folds them (Petrov,
/// Das and McDonald 2012), with punctuation, foreign words and interjections left out (null):
/// <list type="table">
/// <item><term>noun</term><description><c>nn</c>, <c>nns</c>, <c>np</c>, <c>nps</c>, <c>nr</c>, <c>nrs</c> (and their <c>$</c> possessives)</description></item>
/// <item><term>verb</term><description><c>vb*</c>, <c>be*</c>, <c>hv*</c>, <c>do*</c>, <c>md</c></description></item>
/// <item><term>adjective</term><description><c>jj*</c>, <c>od</c> (ordinals)</description></item>
/// <item><term>adverb</term><description><c>rb*</c>, <c>rn</c>, <c>ql*</c>, <c>wrb</c>, <c>wql</c>, <c>*</c> (not)</description></item>
/// <item><term>pronoun</term><description><c>pp*</c>, <c>pn*</c>, <c>wp*</c></description></item>
/// <item><term>determiner</term><description><c>at</c>, <c>dt*</c>, <c>ap</c>, <c>abn</c>, <c>abx</c>, <c>abl</c>, <c>wdt</c>, <c>ex</c></description></item>
/// <item><term>preposition</term><description><c>in</c></description></item>
/// <item><term>conjunction</term><description><c>cc</c>, <c>cs</c></description></item>
/// <item><term>number</term><description><c>cd</c></description></item>
/// <item><term>particle</term><description><c>rp</c>, <c>to</c></description></item>
/// </list>
/// A tag is read as Brown writes it: a <c>-tl</c> (title), <c>-hl</c> (headline) or <c>-nc</c> (cited) suffix and a
/// <c>*</c> negation are dropped, a contraction (<c>vb+ppo</c>) counts as its first part, and <c>fw-</c> (foreign) is
/// left out.
/// </summary>
public static class BrownTags
{
    /// <summary>The coarse classes, in the order documented above.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["noun", "verb", "adjective", "adverb", "pronoun", "determiner", "preposition", "conjunction", "number", "particle"];

    /// <summary>The coarse class of a Brown tag, or null for punctuation, foreign words, interjections and unknown tags.</summary>
    public static string? Coarse(string tag)
    {
        if (tag.StartsWith("fw-", StringComparison.Ordinal)) return null;
        if (tag == "*") return "adverb";
        string t = tag.Split('+')[0];
        foreach (var suffix in new[] { "-tl", "-hl", "-nc" })
            while (t.EndsWith(suffix, StringComparison.Ordinal)) t = t[..^suffix.Length];
        t = t.TrimEnd('*', '$');
        return t switch
        {
            "nn" or "nns" or "np" or "nps" or "nr" or "nrs" => "noun",
            "md" => "verb",
            _ when t.StartsWith("vb", StringComparison.Ordinal) || t.StartsWith("be", StringComparison.Ordinal)
                || t.StartsWith("hv", StringComparison.Ordinal) || t.StartsWith("do", StringComparison.Ordinal) => "verb",
            "od" => "adjective",
            _ when t.StartsWith("jj", StringComparison.Ordinal) => "adjective",
            "wrb" or "wql" or "rn" => "adverb",
            _ when t.StartsWith("rb", StringComparison.Ordinal) || t.StartsWith("ql", StringComparison.Ordinal) => "adverb",
            _ when t.StartsWith("pp", StringComparison.Ordinal) || t.StartsWith("pn", StringComparison.Ordinal) || t.StartsWith("wp", StringComparison.Ordinal) => "pronoun",
            "at" or "ap" or "abn" or "abx" or "abl" or "wdt" or "ex" => "determiner",
            _ when t.StartsWith("dt", StringComparison.Ordinal) => "determiner",
            "in" => "preposition",
            "cc" or "cs" => "conjunction",
            "cd" => "number",
            "rp" or "to" => "particle",
            _ => null,
        };
    }
}
