using System.Diagnostics;
using static TorchSharp.torch;

namespace Sweep.Bench;

/// <summary>
/// The yardstick every benchmark divides by: a float32 GEMM (n x n x n) timed again after every run of the subject,
/// so a run is compared with the GEMMs right before and after it (GEMM, subject, GEMM, subject, …, GEMM) and not with
/// one GEMM measured minutes earlier. On a shared machine the GEMM rate moves by 2x within a run; a ratio to the
/// neighbouring GEMMs moves far less, and the spread of the ratios over the runs says how far it can be trusted.
/// </summary>
public sealed class Yardstick : IDisposable
{
    /// <summary>A measurement whose ratios spread by more than this fraction of their median (max − min) is flagged untrusted.</summary>
    public const double TrustedSpread = 0.2;

    private readonly Tensor _a, _b, _c;
    private readonly int _n;
    private double _lastGemmSeconds;

    public string Device { get; }

    /// <summary>FLOPs of one yardstick GEMM: 2n³.</summary>
    public double GemmFlops => 2.0 * _n * _n * _n;

    /// <summary>2048³ takes ~0.1 s on two cores: long enough that a timer tick does not decide it, short beside a subject.</summary>
    public Yardstick(string device = "cpu", int n = 2048)
    {
        Device = device; _n = n;
        var dev = TorchSharp.torch.device(device);
        _a = randn(n, n, device: dev);
        _b = randn(n, n, device: dev);
        _c = empty(n, n, device: dev);
        TimeGemm();   // warm-up: the first call pays for thread pools and packing buffers
        _lastGemmSeconds = TimeGemm();
    }

    /// <summary>
    /// Seconds of one yardstick GEMM, into the same output every time: a fresh 16 MiB output is fresh pages from the
    /// kernel on some calls and not on others (the allocator hands large blocks back), which made the GEMM itself
    /// bimodal (about 125 against 165 GFLOP/s on one machine, in phases).
    /// </summary>
    public double TimeGemm()
    {
        var watch = Stopwatch.StartNew();
        _c.addmm_(_a, _b, beta: 0f, alpha: 1f);
        _ = _c[0, 0].item<float>();   // forces completion on asynchronous devices
        return watch.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Runs <paramref name="subject"/> once, then a GEMM: the sample pairs the subject's seconds with the mean of the
    /// GEMM before it (the previous call's) and the GEMM after it. The subject returns its useful work (FLOPs, or any
    /// unit of its own; 0 when only its time matters). The heap is collected before, outside the timing.
    /// </summary>
    public Sample Time(Func<double> subject)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var watch = Stopwatch.StartNew();
        double work = subject();
        double seconds = watch.Elapsed.TotalSeconds;
        double after = TimeGemm();
        var sample = new Sample(seconds, (_lastGemmSeconds + after) / 2, work, GemmFlops, Load.OneMinute());
        _lastGemmSeconds = after;
        return sample;
    }

    public Sample Time(Action subject) => Time(() => { subject(); return 0.0; });

    /// <summary><paramref name="runs"/> interleaved runs of the subject.</summary>
    public Samples Repeat(int runs, Func<double> subject)
    {
        var samples = new Samples();
        for (int i = 0; i < runs; i++) samples.Add(Time(subject));
        return samples;
    }

    public Samples Repeat(int runs, Action subject) => Repeat(runs, () => { subject(); return 0.0; });

    public void Dispose()
    {
        _a.Dispose(); _b.Dispose(); _c.Dispose();
    }
}

/// <summary>One subject run and its neighbouring GEMMs.</summary>
/// <param name="Work">The run's useful work (FLOPs for compute stages), 0 when only its time matters.</param>
/// <param name="Load">The machine's one-minute load average when the run ended.</param>
public sealed record Sample(double Seconds, double GemmSeconds, double Work, double GemmFlops, double Load)
{
    /// <summary>The subject's FLOP rate as a fraction of its neighbouring GEMMs' rate.</summary>
    public double FractionOfGemm => Work / Seconds / (GemmFlops / GemmSeconds);

    /// <summary>The subject's time in yardstick GEMMs.</summary>
    public double GemmEquivalents => Seconds / GemmSeconds;

    public double GemmRate => GemmFlops / GemmSeconds;
}

/// <summary>The samples of one subject (its runs, or the segments of one long run).</summary>
public sealed class Samples
{
    private readonly List<Sample> _samples = [];

    public IReadOnlyList<Sample> All => _samples;
    public void Add(Sample sample) => _samples.Add(sample);
    public void AddRange(Samples other) => _samples.AddRange(other._samples);

    public Spread FractionOfGemm => Spread.Of(_samples.Select(s => s.FractionOfGemm));
    public Spread GemmEquivalents => Spread.Of(_samples.Select(s => s.GemmEquivalents));
    public Spread Seconds => Spread.Of(_samples.Select(s => s.Seconds));
    /// <summary>The neighbouring GEMMs' rate, in GFLOP/s.</summary>
    public Spread GemmGflops => Spread.Of(_samples.Select(s => s.GemmRate / 1e9));
    public double TotalSeconds => _samples.Sum(s => s.Seconds);
    public double TotalWork => _samples.Sum(s => s.Work);
    /// <summary>Total work over total time, as a fraction of the GEMM rate over the same runs (time-weighted, for segments of a run).</summary>
    public double OverallFractionOfGemm => TotalWork / TotalSeconds / (_samples.Sum(s => s.GemmFlops) / _samples.Sum(s => s.GemmSeconds));
    public double MaxLoad => _samples.Count == 0 ? 0 : _samples.Max(s => s.Load);
}

/// <summary>Median and range of a set of ratios; untrusted when the range exceeds <see cref="Yardstick.TrustedSpread"/> of the median.</summary>
public sealed record Spread(double Median, double Min, double Max, double Q1, double Q3, int Count)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return new Spread(double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0);
        return new Spread(Quantile(v, 0.5), v[0], v[^1], Quantile(v, 0.25), Quantile(v, 0.75), v.Length);
    }

    private static double Quantile(double[] sorted, double q)
    {
        double at = q * (sorted.Length - 1);
        int low = (int)Math.Floor(at), high = (int)Math.Ceiling(at);
        return sorted[low] + (sorted[high] - sorted[low]) * (at - low);
    }

    /// <summary>(max − min) / median.</summary>
    public double Relative => Median == 0 ? double.PositiveInfinity : (Max - Min) / Math.Abs(Median);

    /// <summary>At least 3 values and a range within <see cref="Yardstick.TrustedSpread"/> of the median.</summary>
    public bool Trusted => Count >= 3 && Relative <= Yardstick.TrustedSpread;

    /// <summary>"0.91 of GEMM [0.88–0.93] spread 5%, n 5", and "SPREAD TOO LARGE TO TRUST" past the threshold.</summary>
    public string Format(string number = "F2", string unit = "")
    {
        string text = $"{Median.ToString(number)}{unit} [{Min.ToString(number)}–{Max.ToString(number)}] spread {Relative:P0}, n {Count}";
        if (Count < 3) return text + " (too few runs to judge)";
        return Trusted ? text : text + $"  << SPREAD TOO LARGE TO TRUST (> {Yardstick.TrustedSpread:P0})";
    }
}

/// <summary>The machine's load and this process's memory, as Linux reports them.</summary>
public static class Load
{
    /// <summary>The one-minute load average (/proc/loadavg), NaN where unavailable.</summary>
    public static double OneMinute()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return double.NaN; }
    }

    /// <summary>Peak resident set size of this process since start or the last <see cref="ResetPeak"/> (VmHWM), in bytes.</summary>
    public static long PeakRss() => StatusKilobytes("VmHWM:") * 1024;

    public static long CurrentRss() => StatusKilobytes("VmRSS:") * 1024;

    /// <summary>Resets the peak RSS to the current RSS (writes 5 to /proc/self/clear_refs), after a compacting collection.</summary>
    public static void ResetPeak()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static long StatusKilobytes(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                    return long.Parse(line[key.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }
}
