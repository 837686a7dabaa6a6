using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sweep.Models.Checkpoints;

namespace Sweep.Models.Saes.Training;

/// <summary>Where a training keeps its checkpoints, and what names the data it trains on.</summary>
/// <param name="Folder">The checkpoint folder; <see cref="Remove"/> it once the trained SAE is safely written.</param>
/// <param name="DataKey">Names the activations trained on (such as the trained folder's key): a checkpoint of other data is ignored.</param>
/// <param name="Warn">Told why a checkpoint found in the folder is ignored.</param>
public sealed record TrainingCheckpoints(string Folder, string DataKey, Action<string>? Warn = null)
{
    public void Remove()
    {
        try { if (Directory.Exists(Folder)) Directory.Delete(Folder, recursive: true); }
        catch (IOException e) { Warn?.Invoke($"{Folder}: could not remove the checkpoint folder ({e.Message})"); }
    }
}

/// <summary>Everything a training needs to continue bit-identically after <see cref="Step"/> steps, besides the shuffle buffer (which is replayed).</summary>
internal sealed record TrainingState(int Step, long Tokens, long OptimizerSteps, long[] LastFired,
    IReadOnlyList<TrainingMetrics> Metrics, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> Tensors);

/// <summary>
/// A training checkpoint on disk: <c>state-{step}.safetensors</c> (parameters and AdamW moments, float32) and
/// <c>checkpoint.json</c> (step, tokens seen, optimizer steps, lastFired per feature, the metrics so far, the
/// training's fingerprint, and the state file's name and SHA-256). Each file is written under a temporary name and
/// renamed; the JSON, written last, commits the checkpoint, so a checkpoint is either whole or ignored.
/// </summary>
internal static class TrainingCheckpoint
{
    public const string ManifestFile = "checkpoint.json";
    private const int Format = 1;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // FVE is NaN on a constant batch
    };

    private sealed record Manifest(int Format, string Fingerprint, int Step, long Tokens, long OptimizerSteps,
        string StateFile, string StateSha256, long[] LastFired, List<TrainingMetrics> Metrics);

    /// <summary>Identifies one training: its data, d_in, and every option but the checkpoint interval and the device.</summary>
    public static string Fingerprint(TrainingCheckpoints checkpoints, int dIn, TopKTrainingOptions options)
    {
        var text = $"{checkpoints.DataKey}\n{dIn}\n{JsonSerializer.Serialize(options with { CheckpointEvery = 0, Device = "" })}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    public static void Save(string folder, string fingerprint, TrainingState state)
    {
        Directory.CreateDirectory(folder);
        var stateFile = $"state-{state.Step}.safetensors";
        var statePath = Path.Combine(folder, stateFile);
        SafeTensors.Write(statePath, state.Tensors);
        var manifest = new Manifest(Format, fingerprint, state.Step, state.Tokens, state.OptimizerSteps, stateFile, Sha256Of(statePath),
            state.LastFired, [.. state.Metrics]);
        AtomicFile.WriteAllBytes(Path.Combine(folder, ManifestFile), JsonSerializer.SerializeToUtf8Bytes(manifest, Json));
        DeleteStatesBefore(folder, state.Step);
    }

    /// <summary>
    /// The checkpoint in <paramref name="folder"/> when it is whole and of this training (<paramref name="fingerprint"/>,
    /// tensors of <paramref name="shapes"/>); otherwise null, and <paramref name="warn"/> says why when there was one.
    /// </summary>
    public static TrainingState? TryLoad(string folder, string fingerprint, IReadOnlyDictionary<string, long[]> shapes, int dSae, int steps,
        Action<string>? warn)
    {
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath)) return null;
        try
        {
            var m = JsonSerializer.Deserialize<Manifest>(File.ReadAllBytes(manifestPath), Json);
            if (Problem(m, folder, fingerprint, dSae, steps) is { } problem)
            {
                warn?.Invoke($"{manifestPath}: checkpoint ignored, {problem}; training starts from step 0");
                return null;
            }
            using var file = SafeTensors.Open(Path.Combine(folder, m!.StateFile));
            var tensors = shapes.ToDictionary(s => s.Key, s => (file.ReadFloats(s.Key, s.Value), s.Value));
            return new TrainingState(m.Step, m.Tokens, m.OptimizerSteps, m.LastFired, m.Metrics, tensors);
        }
        // Whatever is wrong with a checkpoint costs the steps it saved, never the unit.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            warn?.Invoke($"{manifestPath}: checkpoint ignored, {e.Message}; training starts from step 0");
            return null;
        }
    }

    private static string? Problem(Manifest? m, string folder, string fingerprint, int dSae, int steps) =>
        m is null || m.Metrics is null || m.LastFired is null || m.StateFile is null ? "its manifest is incomplete"
        : m.Format != Format ? $"format {m.Format}, expected {Format}"
        : m.Fingerprint != fingerprint ? "it belongs to another training (other data or options)"
        : m.Step < 1 || m.Step > steps ? $"step {m.Step} is outside 1..{steps}"
        : m.LastFired.Length != dSae ? $"last_fired has {m.LastFired.Length} entries, expected {dSae}"
        : m.StateFile != Path.GetFileName(m.StateFile) || !File.Exists(Path.Combine(folder, m.StateFile)) ? $"state file '{m.StateFile}' is missing"
        : Sha256Of(Path.Combine(folder, m.StateFile)) != m.StateSha256 ? $"{m.StateFile} does not match its SHA-256 (truncated or changed)"
        : null;

    /// <summary>Removes the state files of earlier checkpoints (a later one of another writer of the same unit stays).</summary>
    private static void DeleteStatesBefore(string folder, int step)
    {
        foreach (var path in Directory.EnumerateFiles(folder, "state-*.safetensors"))
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (int.TryParse(name.AsSpan("state-".Length), out int older) && older < step)
                try { File.Delete(path); } catch (IOException) { }
        }
    }

    private static string Sha256Of(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
