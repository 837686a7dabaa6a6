using System.Text.RegularExpressions;

namespace Sweep.Models.Tokenizers;

/// <summary>
/// The two fixed pieces of GPT-2's byte-level BPE: the split pattern that cuts text into words before
/// merging, and the byte-to-character map that lets every byte be a printable vocabulary symbol.
/// </summary>
public static class Gpt2ByteLevel
{
    public const string EndOfText = "<|endoftext|>";

    /// <summary>GPT-2's pre-tokenization pattern (openai/gpt-2 encoder.py), verbatim.</summary>
    public const string SplitPattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    public static Regex SplitRegex { get; } = new(SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant);

    /// <summary>Character standing for each byte value: printable Latin-1 bytes map to themselves, the rest to 256+n.</summary>
    public static IReadOnlyList<char> ByteToChar { get; } = BuildByteToChar();

    /// <summary>The words GPT-2 merges within, in order; concatenated they give back <paramref name="text"/>.</summary>
    public static IEnumerable<string> Split(string text)
    {
        foreach (Match m in SplitRegex.Matches(text)) yield return m.Value;
    }

    /// <summary>A word as its byte-level symbols (one char per UTF-8 byte).</summary>
    public static string ToByteSymbols(string word)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(word);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }

    /// <summary>Byte-level symbols back to the bytes they stand for; null when a char is not one of the 256 symbols.</summary>
    public static byte[]? ToBytes(string symbols)
    {
        var bytes = new byte[symbols.Length];
        for (int i = 0; i < symbols.Length; i++)
        {
            if (!CharToByte.TryGetValue(symbols[i], out byte b)) return null;
            bytes[i] = b;
        }
        return bytes;
    }

    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }
}
