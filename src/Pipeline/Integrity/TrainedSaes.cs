using System.Security.Cryptography;

namespace Sweep.Pipeline.Integrity;

/// <summary>
/// A trained SAE folder (<c>{store}/saes/{name}-{key16}</c>) records the SHA-256 of each of its files in
/// <c>sweep.sha256</c> (the format <c>sha256sum</c> writes, so <c>sha256sum -c sweep.sha256</c> checks it too), written
/// before the folder is renamed into place. A later run reuses the folder, and analyses read codes keyed by its digest,
/// only while every file still has its recorded SHA-256.
/// </summary>
public static class TrainedSaes
{
    public const string ChecksumFile = "sweep.sha256";

    /// <summary>Records the SHA-256 of every file in <paramref name="folder"/> (an SAE just written, not yet in place).</summary>
    public static void Record(string folder)
    {
        var lines = Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().Where(f => f != ChecksumFile).Order(StringComparer.Ordinal)
            .Select(name => $"{Sha256(Path.Combine(folder, name))}  {name}\n");
        File.WriteAllText(Path.Combine(folder, ChecksumFile), string.Concat(lines));
    }

    /// <summary>What is wrong with the trained SAE in <paramref name="folder"/> (one line naming the file), or null when every recorded file has its SHA-256.</summary>
    public static string? Problem(string folder)
    {
        var recorded = Path.Combine(folder, ChecksumFile);
        if (!File.Exists(recorded)) return $"{recorded}: missing (the SAE was written by an older Sweep, or not completely)";
        try
        {
            var lines = File.ReadAllLines(recorded).Where(l => l.Length > 0).ToList();
            if (lines.Count == 0) return $"{recorded}: lists no files";
            foreach (var line in lines)
            {
                var (hash, name) = (line[..Math.Min(64, line.Length)], line.Length > 66 ? line[66..] : "");
                var file = Path.Combine(folder, name);
                if (name.Length == 0 || name.Contains('/')) return $"{recorded}: unreadable line '{line}'";
                if (!File.Exists(file)) return $"{file}: missing";
                if (Sha256(file) != hash) return $"{file}: damaged: its SHA-256 is not the one recorded in {ChecksumFile} when the SAE was trained";
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"{folder}: {e.Message}"; }
    }

    /// <summary>Throws <see cref="TrainedSaeDamagedException"/> unless <see cref="Problem"/> finds nothing.</summary>
    public static void Verify(string folder)
    {
        if (Problem(folder) is { } problem) throw new TrainedSaeDamagedException(problem);
    }

    private static string Sha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}

/// <summary>A trained SAE folder whose files no longer have the SHA-256 recorded when it was trained. The message names the file.</summary>
public sealed class TrainedSaeDamagedException(string message) : Exception(message);
