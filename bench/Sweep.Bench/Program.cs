using Sweep.Bench;

// Before any tensor exists, as the sweep command does (libtorch reads this once, at its first allocation).
Sweep.Models.LibTorchMemory.UseHugePages();

// Usage: sweep-bench [NAME ...]   (no names: run every benchmark; "list": list them)
// Benchmarks that report peak memory run in a process of their own (sweep-bench --alone NAME), so what ran
// before them in this process cannot raise their peak.
var benchmarks = typeof(IBenchmark).Assembly.GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

if (args is ["--alone", var alone])
{
    benchmarks.Single(b => b.Name == alone).Run(new BenchmarkOutput(Console.Out));
    return 0;
}
if (args is ["list"])
{
    foreach (var b in benchmarks) Console.WriteLine($"{b.Name,-16} {b.Description}");
    return 0;
}
var unknown = args.Where(a => benchmarks.All(b => b.Name != a)).ToList();
if (unknown.Count > 0)
{
    Console.Error.WriteLine($"sweep-bench: unknown benchmark(s) {string.Join(", ", unknown)}; known: {string.Join(", ", benchmarks.Select(b => b.Name))}");
    return 2;
}
var output = new BenchmarkOutput(Console.Out);
Console.WriteLine($"sweep-bench on {Environment.ProcessorCount} cores, torch threads {TorchSharp.torch.get_num_threads()}, load {Load.OneMinute():F1}");
Console.WriteLine($"Every figure: median [min–max] of interleaved runs, each a ratio to the 2048³ float32 GEMMs right before and after it;");
Console.WriteLine($"a spread (max − min)/median above {Yardstick.TrustedSpread:P0} is flagged. (load N) = the highest 1-minute load average during the runs.");
using (var yardstick = new Yardstick())
{
    // The yardstick measured against itself: its spread is the noise floor of every other figure in this run.
    var gemm = yardstick.Repeat(5, () => { yardstick.TimeGemm(); return yardstick.GemmFlops; });
    output.Line("float32 GEMM rate (2048³)", gemm.GemmGflops.Format("F0", " GFLOP/s"), gemm);
    output.Line("the GEMM as a subject (noise floor)", $"{gemm.FractionOfGemm.Format(unit: " of GEMM")}", gemm);
}
foreach (var benchmark in benchmarks.Where(b => args.Length == 0 || args.Contains(b.Name)))
{
    output.Section($"{benchmark.Name}: {benchmark.Description}");
    if (benchmark is IOwnProcess) { if (!ChildProcess.Run(benchmark.Name)) return 1; }
    else benchmark.Run(output);
}
return 0;
