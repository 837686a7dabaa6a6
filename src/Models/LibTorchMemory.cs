using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Sweep.Models;

/// <summary>
/// Asks libtorch to back its large CPU buffers with transparent huge pages (<c>THP_MEM_ALLOC_ENABLE=1</c>: buffers of
/// 2 MiB and more are aligned to 2 MiB and advised <c>MADV_HUGEPAGE</c>).
/// <para>
/// Why: glibc gives allocations above 32 MiB back to the kernel when they are freed, so every such buffer (one MLP
/// activation of GPT-2 small at batch 32 × 128 tokens is 50 MB) is fresh memory, and each of its 4 KiB pages costs a
/// fault when first written. On a virtual machine a fault costs microseconds: measured with
/// <c>sweep-bench capture</c>, a GPT-2-small capture at batch 32 ran at 0.59 of the GEMM rate with 4 KiB pages and
/// 0.92 with huge pages (batch 1: 0.65 and 0.74). The kernel's default (<c>transparent_hugepage=madvise</c>) only
/// gives huge pages to memory that asks for them, which is what this setting makes libtorch do.
/// </para>
/// <para>
/// libtorch reads the variable once, at its first CPU allocation, from the C environment (not .NET's copy of it), so it is
/// set with libc's <c>setenv</c> before any tensor exists: when this assembly is first used, and by each entry point
/// before anything else (<see cref="UseHugePages"/>). A value already in the environment is left as it is
/// (<c>THP_MEM_ALLOC_ENABLE=0</c> turns it off).
/// </para>
/// </summary>
public static class LibTorchMemory
{
    public const string Variable = "THP_MEM_ALLOC_ENABLE";

    [ModuleInitializer]
#pragma warning disable CA2255 // a library's module initializer: it must run before the first tensor, whoever loads this assembly first
    internal static void OnLoad() => UseHugePages();
#pragma warning restore CA2255

    /// <summary>Sets <see cref="Variable"/> to 1 in the C environment unless it is set already (Linux; elsewhere nothing).</summary>
    public static void UseHugePages()
    {
        if (!OperatingSystem.IsLinux() || getenv(Variable) != IntPtr.Zero) return;
        setenv(Variable, "1", 0);
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr getenv(string name);

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern int setenv(string name, string value, int overwrite);
}
