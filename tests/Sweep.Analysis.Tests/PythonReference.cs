using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Sweep.Analysis.Linear;
using Sweep.Tests.Common;

namespace Sweep.Analysis.Tests;

/// <summary>
/// Runs a reference script under References/ with Debian's /usr/bin/python3 (numpy, scipy, scikit-learn)
/// on matrices this test writes as .npy, and returns its JSON. The values are computed by the script on
/// every run, never stored.
/// </summary>
public static class PythonReference
{
    public const string Interpreter = "/usr/bin/python3";

    public static JsonElement Run(string script, DenseMatrix x, DenseMatrix y, object parameters)
    {
        var folder = Directory.CreateTempSubdirectory("sweep-ref-").FullName;
        try
        {
            WriteNpy(Path.Combine(folder, "x.npy"), x);
            WriteNpy(Path.Combine(folder, "y.npy"), y);
            File.WriteAllText(Path.Combine(folder, "params.json"), JsonSerializer.Serialize(parameters));
            var path = Path.Combine(Fixtures.RepoRoot, "tests", "Sweep.Analysis.Tests", "References", script);
            var start = new ProcessStartInfo(Interpreter) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(path);
            start.ArgumentList.Add(folder);
            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            if (process.ExitCode != 0) throw new InvalidOperationException($"{path} failed: {stderr.Result}");
            return JsonDocument.Parse(stdout.Result).RootElement.Clone();
        }
        finally { Directory.Delete(folder, recursive: true); }
    }

    /// <summary>A little-endian float64 C-order .npy file (format 1.0).</summary>
    public static void WriteNpy(string path, DenseMatrix m)
    {
        var header = $"{{'descr': '<f8', 'fortran_order': False, 'shape': ({m.Rows}, {m.Cols}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        writer.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        writer.Write((ushort)header.Length);
        writer.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in m.Data) writer.Write(v);
    }
}

/// <summary>Seeded test matrices.</summary>
public static class TestData
{
    /// <summary>Gaussian n x d (Box–Muller, seeded).</summary>
    public static DenseMatrix Gaussian(int n, int d, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        var data = new double[n * d];
        for (int i = 0; i < data.Length; i++)
            data[i] = scale * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return new DenseMatrix(n, d, data);
    }

    /// <summary>Two views of a shared latent: X = Z·A + noise + offset, Y = Z·B + noise, with decaying column scales.</summary>
    public static (DenseMatrix X, DenseMatrix Y) SharedLatent(int n, int dx, int dy, int latent, int seed, double noise = 0.3)
    {
        var z = Gaussian(n, latent, seed);
        var a = Gaussian(latent, dx, seed + 1);
        var b = Gaussian(latent, dy, seed + 2);
        DenseMatrix Mix(DenseMatrix w, int d, int s, double offset)
        {
            var e = Gaussian(n, d, s, noise);
            var data = new double[n * d];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++)
                {
                    double v = 0;
                    for (int l = 0; l < latent; l++) v += z[i, l] * w[l, j] / (1 + l);
                    data[i * d + j] = v + e[i, j] + offset * (j % 3);
                }
            return new DenseMatrix(n, d, data);
        }
        return (Mix(a, dx, seed + 3, 2.0), Mix(b, dy, seed + 4, 0.0));
    }

    /// <summary>Multiplies the columns of m by a random orthogonal matrix (QR of a seeded Gaussian), then scales.</summary>
    public static DenseMatrix Rotate(DenseMatrix m, int seed, double scale = 1.0)
    {
        var g = Gaussian(m.Cols, m.Cols, seed);
        var (u, _, vt) = Linalg.Svd(g.Data, m.Cols, m.Cols);
        var q = Linalg.Multiply(u, vt, m.Cols, m.Cols, m.Cols);
        var r = Linalg.Multiply(m.Data, q, m.Rows, m.Cols, m.Cols);
        for (int i = 0; i < r.Length; i++) r[i] *= scale;
        return new DenseMatrix(m.Rows, m.Cols, r);
    }
}
