using System.Text;
using System.Text.Json;
using Sweep.Analysis;

namespace Sweep.Integration.Tests;

/// <summary><c>sweep compare</c> on .npy files: the same values as the reducers' code path, one-line errors.</summary>
public sealed class CompareCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sweep-compare-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A .npy file, format 1.0, little-endian float32 ('&lt;f4') or float64 ('&lt;f8').</summary>
    private string WriteNpy(string name, double[] values, int rows, int cols, bool float64, bool fortran = false)
    {
        var path = Path.Combine(_dir, name);
        var header = $"{{'descr': '{(float64 ? "<f8" : "<f4")}', 'fortran_order': {(fortran ? "True" : "False")}, 'shape': ({rows}, {cols}), }}";
        header = header.PadRight(header.Length + (64 - (11 + header.Length) % 64) % 64) + "\n";
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        writer.Write((ushort)header.Length);
        writer.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in values) { if (float64) writer.Write(v); else writer.Write((float)v); }
        return path;
    }

    private static double[] Random(int count, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
    }

    [Fact]
    public async Task Compare_prints_the_values_of_the_shared_measure_code()
    {
        const int rows = 120, dx = 9, dy = 6;
        var x = Random(rows * dx, 1);
        var y = Random(rows * dy, 2);
        for (int i = 0; i < rows; i++) y[i * dy] += 3 * x[i * dx]; // shared signal
        var a = WriteNpy("a.npy", x, rows, dx, float64: true);
        var b = WriteNpy("b.npy", y, rows, dy, float64: false);
        var result = await SweepProcess.RunAsync(_dir, "compare", a, b, "--metrics", "cka,svcca,rsa,knn,procrustes", "--k", "5");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var metrics = JsonDocument.Parse(result.Stdout).RootElement.GetProperty("metrics");

        // Expected: the library on the same float32 rows (compare reads float64 .npy into float32, like shards).
        var block = new ItemBlock(x.Select(v => (float)v).ToArray(), y.Select(v => (float)v).ToArray(), rows, Enumerable.Range(0, rows).Select(i => (long)i).ToArray());
        var settings = new MeasureSettings { K = 5 };
        foreach (var kind in new[] { MeasureKind.Cka, MeasureKind.Svcca, MeasureKind.Rsa, MeasureKind.Knn, MeasureKind.Procrustes })
            foreach (var value in PairMeasures.Compute(kind, settings, dx, dy, () => [block]).Values)
                Assert.Equal(value.Result.Number, metrics.GetProperty(value.Measure).GetProperty("value").GetDouble(), 12);
        Assert.InRange(metrics.GetProperty("cka_linear").GetProperty("value").GetDouble(), 0.05, 1);
    }

    [Fact]
    public async Task Bad_inputs_fail_with_one_line_naming_the_problem()
    {
        var a = WriteNpy("a.npy", Random(40, 3), 10, 4, float64: true);
        var fortran = WriteNpy("f.npy", Random(40, 4), 10, 4, float64: true, fortran: true);
        var shorter = WriteNpy("s.npy", Random(36, 5), 9, 4, float64: true);
        async Task Fails(string fragment, params string[] args)
        {
            var result = await SweepProcess.RunAsync(_dir, ["compare", .. args]);
            Assert.Equal(1, result.ExitCode);
            var line = Assert.Single(result.StderrLines);
            Assert.StartsWith("sweep: ", line);
            Assert.Contains(fragment, line);
            Assert.Equal("", result.Stdout);
        }
        await Fails("Fortran order", a, fortran);
        await Fails("has 10 rows and", a, shorter);
        await Fails("unknown measure 'svd'", a, a, "--metrics", "cka,svd");
        await Fails("no such file", a, Path.Combine(_dir, "missing.npy"));
    }
}
