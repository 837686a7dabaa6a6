using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>
/// Runs a reference script of tests/Sweep.Analysis.Tests/References with Debian's /usr/bin/python3 (numpy) on two
/// float64 matrices written as .npy, and returns the JSON it prints (as the analysis tests' PythonReference does).
/// </summary>
public static class NumpyReference
{
    public static JsonElement Run(string script, (double[] Values, int Rows, int Columns) x, (double[] Values, int Rows, int Columns) y, object parameters)
    {
        var folder = Directory.CreateTempSubdirectory("sweep-numpy-").FullName;
        try
        {
            WriteNpy(Path.Combine(folder, "x.npy"), x);
            WriteNpy(Path.Combine(folder, "y.npy"), y);
            File.WriteAllText(Path.Combine(folder, "params.json"), JsonSerializer.Serialize(parameters));
            var path = Path.Combine(Fixtures.RepoRoot, "tests", "Sweep.Analysis.Tests", "References", script);
            var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true };
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
    private static void WriteNpy(string path, (double[] Values, int Rows, int Columns) m)
    {
        var header = $"{{'descr': '<f8', 'fortran_order': False, 'shape': ({m.Rows}, {m.Columns}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var w = new BinaryWriter(File.Create(path));
        w.Write((byte)0x93); w.Write("NUMPY"u8); w.Write((byte)1); w.Write((byte)0);
        w.Write((ushort)header.Length);
        w.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in m.Values) w.Write(v);
    }
}
