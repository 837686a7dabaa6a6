using Sweep.Models.Demo;

namespace Sweep.Models.Tests;

/// <summary>A temporary directory holding a <see cref="TinyLlamaCheckpoint"/> (GQA: 4 heads, 2 key/value heads).</summary>
public sealed class TinyModel : IDisposable
{
    public static readonly TinyLlamaShape Shape = new() { VocabSize = 96, HiddenSize = 32, IntermediateSize = 48, NumLayers = 3, NumHeads = 4, NumKeyValueHeads = 2 };

    public string Directory { get; }

    public TinyModel(ulong seed = 7, TinyLlamaShape? shape = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("sweep-tiny-").FullName;
        TinyLlamaCheckpoint.Write(Directory, shape ?? Shape, seed);
    }

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}
