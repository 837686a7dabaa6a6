using System.Runtime.InteropServices;

namespace Sweep.Models.Tests;

/// <summary>Loading Sweep.Models asks libtorch for huge pages through the C environment, where libtorch reads it.</summary>
public sealed class LibTorchMemoryTests
{
    [Fact]
    public void The_c_environment_asks_libtorch_for_huge_pages_once_the_models_assembly_is_loaded()
    {
        if (!OperatingSystem.IsLinux()) return;
        _ = typeof(CausalLm).Assembly;   // the module initializer has run by the time any of its types is used
        LibTorchMemory.UseHugePages();
        var value = Marshal.PtrToStringAnsi(getenv(LibTorchMemory.Variable));
        Assert.NotNull(value);
        Assert.NotEqual("", value);
    }

    [DllImport("libc", CharSet = CharSet.Ansi)]
    private static extern IntPtr getenv(string name);
}
