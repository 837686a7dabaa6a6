using System.Text;
using System.Text.Json;
using Npgsql;
using Sweep.Models.Checkpoints;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 3): NaN and infinity are refused with one line naming the input and the count, never
/// stored; a measure that is undefined (a constant side) is NULL with its reason, never a number; no libtorch stack
/// frame reaches the user.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class NonFiniteAndUndefinedTests(ServerFixture server)
{
    /// <summary>Rewrites one tensor of a model's model.safetensors (every other tensor as it was).</summary>
    private static void EditTensor(JobWorkspace workspace, string model, string tensor, Action<float[], long[]> edit)
    {
        var path = Path.Combine(workspace.Root, "models", model, "model.safetensors");
        var tensors = new Dictionary<string, (float[], long[])>();
        using (var file = SafeTensors.Open(path))
            foreach (var (name, entry) in file.Entries) tensors[name] = (file.ReadFloats(name), entry.Shape);
        var (data, shape) = tensors[tensor];
        edit(data, shape);
        SafeTensors.Write(path, tensors);
    }

    private static async Task<List<object?[]>> RowsAsync(string connection, string sql)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using var command = new NpgsqlCommand(sql, db);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    [Fact]
    public async Task NaN_activations_fail_the_capture_naming_model_site_shard_and_count_and_no_shard_of_them_is_stored()
    {
        using var workspace = new JobWorkspace(documents: 8);
        EditTensor(workspace, "tiny-b", "model.layers.0.input_layernorm.weight", (w, _) => w[3] = float.NaN);
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Matches(@"^sweep: run \d+ failed: .*model 'tiny-b' site blocks\.2\.hook_resid_post shard 0: \d+ of \d+ activations are not finite \(NaN or ±infinity; the first in row 0\), so the shard is not written", line);
        Assert.DoesNotContain("Exception raised from", result.Stderr);
        var runs = await RowsAsync(connection, "SELECT status, error FROM runs");
        Assert.Equal("failed", Assert.Single(runs)[0]);
        Assert.Contains("tiny-b", (string)runs[0][1]!);
        Assert.Empty(await RowsAsync(connection, "SELECT * FROM shards WHERE model = 'tiny-b'"));
        // Pairs within tiny-a may have finished before the failure; nothing of tiny-b was compared.
        Assert.Empty(await RowsAsync(connection, "SELECT * FROM metrics WHERE model_a = 'tiny-b' OR model_b = 'tiny-b'"));
        Assert.DoesNotContain(workspace.StoreFiles(), f => f.Contains("tiny-b") || f.EndsWith(".tmp"));
        // Not retried: the same weights give the same NaN.
        Assert.All(await RowsAsync(connection, "SELECT attempts FROM units WHERE description LIKE '%tiny-b%' AND stage = 'capture' AND status <> 'pending'"),
            r => Assert.Equal(1, r[0]));
    }

    [Fact]
    public async Task A_constant_site_stores_null_with_the_reason_and_run_table_report_and_database_say_undefined()
    {
        using var workspace = new JobWorkspace(documents: 8);
        // Every token gets the same embedding in tiny-b: its hook_resid_pre is one vector repeated over all rows.
        EditTensor(workspace, "tiny-b", "model.embed_tokens.weight", (w, shape) =>
        {
            for (long i = 0; i < w.Length; i++) w[i] = w[i % shape[1]];
        });
        workspace.WriteJob(captures: """
              - model: tiny-a
                sites: [blocks.1.hook_resid_post]
              - model: tiny-b
                sites: [blocks.0.hook_resid_pre]
            """, analyses: """
              - name: layer-cka
                kind: cka
              - name: sv
                kind: svcca
              - name: r
                kind: rsa
            """);
        var connection = await server.CreateDatabaseAsync();

        var result = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection);

        Assert.True(result.ExitCode == 0, result.Stderr);
        const string reason = "B is constant: every one of its ";
        var metrics = await RowsAsync(connection, "SELECT measure, value, undefined_reason FROM metrics ORDER BY measure");
        Assert.Equal(["cka_linear", "rsa", "svcca"], metrics.Select(m => (string)m[0]!));
        Assert.All(metrics, m =>
        {
            Assert.Null(m[1]);
            Assert.StartsWith(reason, (string)m[2]!);
        });
        Assert.Contains("undefined: B is constant", result.Stdout);

        var report = await SweepProcess.RunAsync(workspace.Root, "report", "--db", connection);
        Assert.True(report.ExitCode == 0, report.Stderr);
        var html = File.ReadAllText(Directory.GetFiles(workspace.Root, "report.html", SearchOption.AllDirectories).Single());
        Assert.Equal(3, html.Split("<td>undefined: B is constant: every one of its ").Length - 1);
        Assert.DoesNotContain("NaN", html);
    }

    private static string WriteNpy(string dir, string name, double[] values, int rows, int cols)
    {
        var path = Path.Combine(dir, name);
        var header = $"{{'descr': '<f8', 'fortran_order': False, 'shape': ({rows}, {cols}), }}";
        header = header.PadRight(header.Length + (64 - (11 + header.Length) % 64) % 64) + "\n";
        using var writer = new BinaryWriter(File.Create(path));
        writer.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 });
        writer.Write((ushort)header.Length);
        writer.Write(Encoding.ASCII.GetBytes(header));
        foreach (var v in values) writer.Write(v);
        return path;
    }

    [Fact]
    public async Task Compare_refuses_NaN_naming_the_file_and_count_and_prints_null_with_a_reason_for_a_constant_matrix()
    {
        using var workspace = new JobWorkspace(documents: 1);
        var rng = new Random(17);
        var a = WriteNpy(workspace.Root, "a.npy", Enumerable.Range(0, 60 * 5).Select(_ => rng.NextDouble()).ToArray(), 60, 5);
        var values = Enumerable.Range(0, 60 * 4).Select(_ => rng.NextDouble()).ToArray();
        values[17] = double.NaN;
        values[30] = double.NegativeInfinity;
        values[31] = 1e300;   // finite in float64, infinite in float32
        var nan = WriteNpy(workspace.Root, "nan.npy", values, 60, 4);
        var constant = WriteNpy(workspace.Root, "const.npy", Enumerable.Repeat(0.1, 60 * 4).ToArray(), 60, 4);

        var refused = await SweepProcess.RunAsync(workspace.Root, "compare", a, nan, "--metrics", "cka,svcca,pwcca,procrustes");
        Assert.Equal(1, refused.ExitCode);
        Assert.Equal($"sweep: {nan}: 3 of its 60 x 4 values are not finite (NaN, ±infinity, or beyond float32's range), expected finite numbers: measures refuse them",
            Assert.Single(refused.StderrLines));
        Assert.Equal("", refused.Stdout);

        var undefined = await SweepProcess.RunAsync(workspace.Root, "compare", a, constant, "--metrics", "cka,cka_unbiased,svcca,pwcca,procrustes,rsa,knn");
        Assert.True(undefined.ExitCode == 0, undefined.Stderr);
        var metrics = JsonDocument.Parse(undefined.Stdout).RootElement.GetProperty("metrics");
        string[] names = ["cka_linear", "cka_unbiased", "svcca", "pwcca", "procrustes", "rsa", "knn_overlap", "knn_jaccard"];
        Assert.Equal(names.Order(), metrics.EnumerateObject().Select(m => m.Name).Order());
        foreach (var name in names)
        {
            Assert.Equal(JsonValueKind.Null, metrics.GetProperty(name).GetProperty("value").ValueKind);
            Assert.Equal("B is constant: every one of its 60 rows is the same, so it has no variance to compare",
                metrics.GetProperty(name).GetProperty("undefined_reason").GetString());
        }
    }
}
