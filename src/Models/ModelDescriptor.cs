using Sweep.Models.Checkpoints;
using Sweep.Models.Hooks;

namespace Sweep.Models;

/// <summary>
/// What a model directory offers, read cheaply (config.json and a file listing, no weights), so that a
/// job can be validated before any work starts.
/// </summary>
public sealed record ModelDescriptor(string Directory, HfConfig Config, IReadOnlyList<string> WeightFiles, IReadOnlyList<string> HookPoints)
{
    public int NumLayers => Config.NumLayers;
    public int HiddenSize => Config.HiddenSize;

    /// <summary>Values per token at <paramref name="site"/>: vocab_size for logits, 1 for log_probs_next, else the hidden size.</summary>
    public int WidthOf(string site) => site switch
    {
        Hooks.HookPoints.Logits => Config.VocabSize,
        Hooks.HookPoints.LogProbsNext => 1,
        _ => Config.HiddenSize,
    };

    public static ModelDescriptor Read(string directory)
    {
        if (!System.IO.Directory.Exists(directory))
            throw new ModelLoadException($"{directory}: model directory not found");
        var config = HfConfig.Read(directory);
        var weights = FindWeightFiles(directory);
        return new ModelDescriptor(Path.GetFullPath(directory), config, weights, Architectures.ModelFamilies.HookPointsOf(config));
    }

    /// <summary>SHA-256 (hex) over the weight files' bytes in <see cref="WeightFiles"/> order: the weights' identity in cache keys.</summary>
    public string ComputeWeightsDigest()
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (var file in WeightFiles)
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0) sha.AppendData(buffer, 0, n);
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    private static IReadOnlyList<string> FindWeightFiles(string directory)
    {
        var single = Path.Combine(directory, "model.safetensors");
        if (File.Exists(single)) return [single];
        var index = Path.Combine(directory, "model.safetensors.index.json");
        if (File.Exists(index))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(index));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map))
                throw new ModelLoadException($"{index}: key 'weight_map' missing");
            var files = map.EnumerateObject().Select(p => Path.Combine(directory, p.Value.GetString()!)).Distinct().Order().ToList();
            foreach (var f in files)
                if (!File.Exists(f)) throw new ModelLoadException($"{f}: file not found, listed in {index}");
            return files;
        }
        throw new ModelLoadException($"{single}: file not found, expected model.safetensors or model.safetensors.index.json in {directory}");
    }
}
