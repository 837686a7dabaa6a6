using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Sweep.Models.Tokenizers;

/// <summary>A trained GPT-2-style vocabulary: ids 0..255 are the bytes, then one id per new merged symbol, then <c>&lt;|endoftext|&gt;</c>.</summary>
public sealed record ByteLevelBpeVocabulary(IReadOnlyList<string> Tokens, IReadOnlyList<(string Left, string Right)> Merges)
{
    public int EndOfTextId => Tokens.Count - 1;

    /// <summary>Writes vocab.json, merges.txt and tokenizer_config.json, byte-for-byte the same for the same vocabulary.</summary>
    public void WriteTo(string directory, bool addBosToken = false)
    {
        Directory.CreateDirectory(directory);
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        using (var stream = File.Create(Path.Combine(directory, TokenizerLoader.VocabFile)))
        using (var json = new Utf8JsonWriter(stream, options))
        {
            json.WriteStartObject();
            for (int id = 0; id < Tokens.Count; id++) json.WriteNumber(Tokens[id], id);
            json.WriteEndObject();
        }

        var merges = new StringBuilder("#version: 0.2\n");
        foreach (var (left, right) in Merges) merges.Append(left).Append(' ').Append(right).Append('\n');
        File.WriteAllText(Path.Combine(directory, TokenizerLoader.MergesFile), merges.ToString(), new UTF8Encoding(false));

        using (var stream = File.Create(Path.Combine(directory, SpecialTokenSettings.ConfigFile)))
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = options.Encoder }))
        {
            json.WriteStartObject();
            json.WriteString("tokenizer_class", "GPT2Tokenizer");
            json.WriteBoolean("add_bos_token", addBosToken);
            json.WriteString("bos_token", Gpt2ByteLevel.EndOfText);
            json.WriteString("eos_token", Gpt2ByteLevel.EndOfText);
            json.WriteString("unk_token", Gpt2ByteLevel.EndOfText);
            json.WriteEndObject();
        }
    }
}

/// <summary>
/// Learns a byte-level BPE the way GPT-2's was made: split the text with GPT-2's pattern, spell each word
/// in byte symbols, then repeatedly merge the most frequent adjacent pair. Ties go to the pair whose
/// (left, right) strings sort first (ordinal), so the result depends only on the text and the merge count.
/// </summary>
public static class ByteLevelBpeTrainer
{
    /// <summary>Learns at most <paramref name="mergeCount"/> merges (fewer when every word has become one symbol).</summary>
    public static ByteLevelBpeVocabulary Train(string text, int mergeCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(mergeCount);
        var tokens = Gpt2ByteLevel.ByteToChar.Select(c => c.ToString()).ToList();
        var ids = tokens.Select((t, i) => (t, i)).ToDictionary(x => x.t, x => x.i);
        var words = CountWords(text).Select(w => (Symbols: w.Key.Select(c => ids[c.ToString()]).ToList(), Count: w.Value)).ToList();
        var merges = new List<(string, string)>();

        while (merges.Count < mergeCount)
        {
            if (MostFrequentPair(words, tokens) is not var (left, right)) break;
            string merged = tokens[left] + tokens[right];
            // Different merge paths can spell the same string ("ab"+"c", "a"+"bc"): one id, both merges kept.
            if (!ids.TryGetValue(merged, out int mergedId))
            {
                mergedId = tokens.Count;
                tokens.Add(merged);
                ids[merged] = mergedId;
            }
            merges.Add((tokens[left], tokens[right]));
            foreach (var (symbols, _) in words) ApplyMerge(symbols, left, right, mergedId);
        }

        tokens.Add(Gpt2ByteLevel.EndOfText);
        return new ByteLevelBpeVocabulary(tokens, merges);
    }

    /// <summary>Trains and writes the tokenizer files into <paramref name="directory"/>.</summary>
    public static ByteLevelBpeVocabulary TrainTo(string directory, string text, int mergeCount, bool addBosToken = false)
    {
        var vocabulary = Train(text, mergeCount);
        vocabulary.WriteTo(directory, addBosToken);
        return vocabulary;
    }

    /// <summary>Word (in byte symbols) -> occurrences, sorted so iteration order never depends on hashing.</summary>
    private static SortedDictionary<string, long> CountWords(string text)
    {
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var piece in text.Split(Gpt2ByteLevel.EndOfText))
            foreach (var word in Gpt2ByteLevel.Split(piece))
            {
                var symbols = Gpt2ByteLevel.ToByteSymbols(word);
                counts[symbols] = counts.GetValueOrDefault(symbols) + 1;
            }
        return counts;
    }

    private static (int Left, int Right)? MostFrequentPair(List<(List<int> Symbols, long Count)> words, List<string> tokens)
    {
        var counts = new Dictionary<(int, int), long>();
        foreach (var (symbols, count) in words)
            for (int i = 0; i + 1 < symbols.Count; i++)
            {
                var pair = (symbols[i], symbols[i + 1]);
                counts[pair] = counts.GetValueOrDefault(pair) + count;
            }

        (int, int)? best = null;
        long bestCount = 0;
        foreach (var (pair, count) in counts)
        {
            if (count < bestCount) continue;
            if (count == bestCount && best is { } b && ComparePair(pair, b, tokens) >= 0) continue;
            best = pair;
            bestCount = count;
        }
        return best;
    }

    private static int ComparePair((int L, int R) a, (int L, int R) b, List<string> tokens)
    {
        int c = string.CompareOrdinal(tokens[a.L], tokens[b.L]);
        return c != 0 ? c : string.CompareOrdinal(tokens[a.R], tokens[b.R]);
    }

    private static void ApplyMerge(List<int> symbols, int left, int right, int merged)
    {
        int write = 0;
        for (int read = 0; read < symbols.Count; read++)
        {
            if (read + 1 < symbols.Count && symbols[read] == left && symbols[read + 1] == right)
            {
                symbols[write++] = merged;
                read++;
            }
            else symbols[write++] = symbols[read];
        }
        symbols.RemoveRange(write, symbols.Count - write);
    }
}
