using Sweep.Models.Tokenizers;

namespace Sweep.Models.Demo;

/// <summary>
/// Two small Llama-architecture models with seeded random weights (tiny-a: 4 layers, tiny-b: 3), in real HF
/// directories sharing one real byte-level BPE tokenizer learned from the given text: what the integration and
/// cluster tests run jobs on, written in milliseconds. (The default job's models are trained: <see cref="DemoModels"/>.)
/// </summary>
public static class TinyRandomModels
{
    public const int TokenizerMerges = 256;

    public static IReadOnlyList<(string Name, TinyLlamaShape Shape, ulong Seed)> Catalog(int vocabSize, int endOfText) =>
    [
        ("tiny-a", new TinyLlamaShape { VocabSize = vocabSize, HiddenSize = 64, IntermediateSize = 172, NumLayers = 4, NumHeads = 8, NumKeyValueHeads = 4, BosTokenId = endOfText, EosTokenId = endOfText }, 1UL),
        ("tiny-b", new TinyLlamaShape { VocabSize = vocabSize, HiddenSize = 48, IntermediateSize = 128, NumLayers = 3, NumHeads = 6, NumKeyValueHeads = 2, BosTokenId = endOfText, EosTokenId = endOfText }, 2UL),
    ];

    /// <summary>Writes every demo model under <paramref name="directory"/> (one folder each); returns their folders.</summary>
    public static IReadOnlyList<string> Write(string directory, string tokenizerTrainingText)
    {
        var vocabulary = ByteLevelBpeTrainer.Train(tokenizerTrainingText, TokenizerMerges);
        var folders = new List<string>();
        foreach (var (name, shape, seed) in Catalog(vocabulary.Tokens.Count, vocabulary.EndOfTextId))
        {
            var folder = Path.Combine(directory, name);
            vocabulary.WriteTo(folder);
            TinyLlamaCheckpoint.Write(folder, shape, seed);
            folders.Add(folder);
        }
        return folders;
    }
}
