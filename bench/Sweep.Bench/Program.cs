using Sweep.Bench;

// Usage: sweep-bench [NAME ...]   (no names: run every benchmark; "list": list them)
var benchmarks = typeof(IBenchmark).Assembly.GetTypes()
    .Where(t => typeof(IBenchmark).IsAssignableFrom(t) && t is { IsClass: true, IsAbstract: false })
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .ToList();

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
Console.WriteLine($"sweep-bench on {Environment.ProcessorCount} cores, torch threads {TorchSharp.torch.get_num_threads()}");
output.Line("float32 GEMM rate (2048^3)", $"{GemmRate.Measure() / 1e9:F1} GFLOP/s");
foreach (var benchmark in benchmarks.Where(b => args.Length == 0 || args.Contains(b.Name)))
{
    output.Section($"{benchmark.Name}: {benchmark.Description}");
    benchmark.Run(output);
}
return 0;
