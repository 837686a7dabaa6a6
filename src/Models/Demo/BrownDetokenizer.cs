using System.Text;

namespace Sweep.Models.Demo;

/// <summary>Running text made from Brown words, and where each word stands in it.</summary>
/// <param name="Text">the words joined as printed English: no space before closing punctuation, quotes hugging what they quote</param>
/// <param name="Words">each word as it appears in <paramref name="Text"/> (the corpus's <c>``</c> and <c>''</c> become <c>"</c>)</param>
/// <param name="Offsets">the character index in <paramref name="Text"/> where each word starts</param>
public sealed record DetokenizedText(string Text, IReadOnlyList<string> Words, IReadOnlyList<int> Offsets);

/// <summary>
/// Joins Brown words into readable text. The corpus prints quotes as <c>``</c> ... <c>''</c> and separates
/// punctuation by spaces; the rules here are the few that printed English follows: no space before
/// <c>, . ; : ? ! ) ]</c>, a closing quote or an apostrophe token; no space after an opening quote or bracket.
/// Dashes (<c>--</c>) keep their spaces. Every word keeps its position, so tags stay attached to text.
/// </summary>
public static class BrownDetokenizer
{
    private static readonly HashSet<string> NoSpaceBefore = [",", ".", ";", ":", "?", "!", ")", "]", "''", "'", "'?'"];
    private static readonly HashSet<string> NoSpaceAfter = ["``", "(", "["];

    public static DetokenizedText Join(IReadOnlyList<string> words)
    {
        var text = new StringBuilder();
        var surface = new string[words.Count];
        var offsets = new int[words.Count];
        for (int i = 0; i < words.Count; i++)
        {
            string word = words[i];
            if (i > 0 && !NoSpaceBefore.Contains(word) && !NoSpaceAfter.Contains(words[i - 1])) text.Append(' ');
            surface[i] = word is "``" or "''" ? "\"" : word;
            offsets[i] = text.Length;
            text.Append(surface[i]);
        }
        return new DetokenizedText(text.ToString(), surface, offsets);
    }
}
