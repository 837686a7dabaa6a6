// MSBuild task (compiled by RoslynCodeTaskFactory, see Directory.Build.targets).
//
// TorchSharp 0.107.0's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32, which
// Debian 12's libstdc++ (GCC 12) lacks, so the dynamic loader refuses it. The only symbol
// bound to that version (std::ios_base_library_init) is never called. Setting VER_FLG_WEAK
// on that one Vernaux entry of .gnu.version_r turns the hard requirement into a weak one,
// after which the library loads and runs.
//
// Only the copies in a project's own output (or publish) folder are patched, never the NuGet
// package cache: the cache is shared by every build on the machine, and builds run in parallel.
// Each patch writes the whole file under a temporary name unique to this process and task, then
// renames it over the original; rename(2) replaces a directory entry in one step, so another
// build or a starting process sees either the old file or the patched one, never a missing or
// half-written one. Patching is idempotent, so two builds patching one folder are harmless.
// A file that cannot be patched stops the build with an error naming it.
using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenMissingGlibcxx : Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Version { get; set; } = "";

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    // "Says so once": the first patch in an MSBuild node process is reported at high importance, later ones at normal.
    private static int _announced;

    private static readonly string[] LibstdcxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/aarch64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6", "/lib64/libstdc++.so.6",
    };

    public override bool Execute()
    {
        if (Environment.OSVersion.Platform != PlatformID.Unix) return true;
        var systemLib = LibstdcxxCandidates.FirstOrDefault(File.Exists);
        if (systemLib == null) return true;
        if (ContainsAscii(File.ReadAllBytes(systemLib), Version + "\0")) return true;

        foreach (var path in Libraries.Select(item => Path.GetFullPath(item.ItemSpec)).Distinct())
        {
            if (!File.Exists(path)) continue;
            try
            {
                if (!MarkWeak(path, Version)) continue;
                var importance = Interlocked.Exchange(ref _announced, 1) == 0 ? MessageImportance.High : MessageImportance.Normal;
                Log.LogMessage(importance, $"Sweep: {systemLib} lacks {Version}; marked that requirement weak in {path}");
            }
            catch (Exception e)
            {
                Log.LogError($"Sweep: could not mark {Version} weak in {path} ({e.Message}); TorchSharp cannot load without it on this system. Delete the output folder and build again.");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static bool ContainsAscii(byte[] haystack, string needle)
    {
        var pattern = Encoding.ASCII.GetBytes(needle);
        for (int i = Array.IndexOf(haystack, pattern[0]); i >= 0 && i <= haystack.Length - pattern.Length;
             i = Array.IndexOf(haystack, pattern[0], i + 1))
        {
            int k = 1;
            while (k < pattern.Length && haystack[i + k] == pattern[k]) k++;
            if (k == pattern.Length) return true;
        }
        return false;
    }

    /// <summary>Returns true when the file was changed (false when already weak or no such need).</summary>
    private static bool MarkWeak(string path, string version)
    {
        var elf = File.ReadAllBytes(path);
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a little-endian ELF64 file");
        ulong shoff = BitConverter.ToUInt64(elf, 0x28);
        int shentsize = BitConverter.ToUInt16(elf, 0x3A), shnum = BitConverter.ToUInt16(elf, 0x3C);

        for (int s = 0; s < shnum; s++)
        {
            int sh = checked((int)shoff + s * shentsize);
            if (BitConverter.ToUInt32(elf, sh + 4) != ShtGnuVerneed) continue;
            int verneed = checked((int)BitConverter.ToUInt64(elf, sh + 0x18));
            int linkedStrtab = (int)BitConverter.ToUInt32(elf, sh + 0x28);
            int needCount = (int)BitConverter.ToUInt32(elf, sh + 0x2C);
            int strtab = checked((int)BitConverter.ToUInt64(elf, (int)shoff + linkedStrtab * shentsize + 0x18));

            int need = verneed;
            for (int n = 0; n < needCount; n++)
            {
                int auxCount = BitConverter.ToUInt16(elf, need + 2);
                int aux = need + (int)BitConverter.ToUInt32(elf, need + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    if (ReadCString(elf, strtab + (int)BitConverter.ToUInt32(elf, aux + 8)) == version)
                    {
                        ushort flags = BitConverter.ToUInt16(elf, aux + 4);
                        if ((flags & VerFlgWeak) != 0) return false;
                        BitConverter.GetBytes((ushort)(flags | VerFlgWeak)).CopyTo(elf, aux + 4);
                        ReplaceAtomically(path, elf);
                        return true;
                    }
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }
        return false;
    }

    // Same size and modification time as the copy it replaces, so MSBuild's incremental copy
    // (which compares size and time with the package's file) keeps the patched copy next build.
    private static void ReplaceAtomically(string path, byte[] contents)
    {
        var modified = File.GetLastWriteTimeUtc(path);
        var temp = $"{path}.sweep-patch-{Guid.NewGuid():N}";
        try
        {
            File.WriteAllBytes(temp, contents);
            File.SetLastWriteTimeUtc(temp, modified);
            if (rename(temp, path) != 0)
                throw new IOException($"rename over it failed (errno {Marshal.GetLastWin32Error()})");
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // rename(2) itself: the task compiles against netstandard2.0, whose File.Move cannot replace a file.
    [DllImport("libc", SetLastError = true)]
    private static extern int rename(string oldPath, string newPath);

    private static string ReadCString(byte[] bytes, int offset)
    {
        int end = Array.IndexOf(bytes, (byte)0, offset);
        return Encoding.ASCII.GetString(bytes, offset, end - offset);
    }
}
