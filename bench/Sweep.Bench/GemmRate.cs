using System.Diagnostics;
using static TorchSharp.torch;

namespace Sweep.Bench;

/// <summary>
/// The process's own dense float32 GEMM rate on its device: the yardstick other benchmarks divide
/// by, measured in the same run so ratios stay comparable across machines.
/// </summary>
public static class GemmRate
{
    /// <summary>
    /// FLOP/s of an n x n x n float32 matmul, best of several timed repetitions after a warm-up. 2048³ takes ~0.1 s
    /// here: long enough that a noisy neighbour or a timer tick does not decide the yardstick, as it did at 1024³.
    /// </summary>
    public static double Measure(int n = 2048, int repetitions = 5, string device = "cpu")
    {
        using var scope = NewDisposeScope();
        var dev = TorchSharp.torch.device(device);
        var a = randn(n, n, device: dev);
        var b = randn(n, n, device: dev);
        a.matmul(b).Dispose();
        double best = double.MaxValue;
        for (int i = 0; i < repetitions; i++)
        {
            var watch = Stopwatch.StartNew();
            var c = a.matmul(b);
            _ = c.sum().item<float>(); // forces completion on asynchronous devices
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
            c.Dispose();
        }
        return 2.0 * n * n * n / best;
    }
}
