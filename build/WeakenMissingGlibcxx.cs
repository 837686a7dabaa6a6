// MSBuild task (compiled by RoslynCodeTaskFactory, see Directory.Build.targets).
//
// TorchSharp 0.107.0's libLibTorchSharp.so declares a need for GLIBCXX_3.4.32, which
// Debian 12's libstdc++ (GCC 12) lacks, so the dynamic loader refuses it. The only symbol
// bound to that version (std::ios_base_library_init) is never called. Setting VER_FLG_WEAK
// on that one Vernaux entry of .gnu.version_r turns the hard requirement into a weak one,
// after which the library loads and runs. We only touch files, and only when the system
// libstdc++ really lacks the version.
using System;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenMissingGlibcxx : Task
{
    [Required] public ITaskItem[] Libraries { get; set; } = Array.Empty<ITaskItem>();
    [Required] public string Version { get; set; } = "";

    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

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

        foreach (var item in Libraries)
        {
            var path = item.ItemSpec;
            if (!File.Exists(path)) continue;
            try
            {
                if (MarkWeak(path, Version))
                    Log.LogMessage(MessageImportance.High,
                        $"Sweep: {systemLib} lacks {Version}; marked that requirement weak in {path}");
            }
            catch (Exception e)
            {
                Log.LogWarning($"Sweep: could not patch {path}: {e.Message}");
            }
        }
        return true;
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
            return false; // not a little-endian ELF64
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
                        var temp = path + ".sweep-patch";
                        File.WriteAllBytes(temp, elf);
                        File.Delete(path);
                        File.Move(temp, path);
                        return true;
                    }
                    aux += (int)BitConverter.ToUInt32(elf, aux + 12);
                }
                need += (int)BitConverter.ToUInt32(elf, need + 12);
            }
        }
        return false;
    }

    private static string ReadCString(byte[] bytes, int offset)
    {
        int end = Array.IndexOf(bytes, (byte)0, offset);
        return Encoding.ASCII.GetString(bytes, offset, end - offset);
    }
}
