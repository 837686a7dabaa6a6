using Npgsql;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 4): a database password given to Sweep is used to connect and never stored or shown: not in
/// any database row, not in report.html, not in anything `sweep` prints; `--db` with a password warns on stderr.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SecretsTests(ServerFixture server)
{
    private const string Password = "hunter2-s3cret";

    /// <summary>The test database as a URL with a password (the embedded server trusts its socket, so any password connects).</summary>
    private static string UrlWithPassword(string connection)
    {
        var b = new NpgsqlConnectionStringBuilder(connection);
        return $"postgresql://{b.Username}:{Password}@/{b.Database}?host={b.Host}&port={b.Port}";
    }

    /// <summary>Every row of every table of the database, as text.</summary>
    private static async Task<string> EverythingStoredAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", db))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        var text = new System.Text.StringBuilder();
        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM {table} t", db);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync()) text.AppendLine(reader.GetString(0));
        }
        Assert.Contains("runs", tables);
        return text.ToString();
    }

    [Fact]
    public async Task A_password_in_output_database_or_db_is_never_stored_printed_or_reported()
    {
        using var workspace = new JobWorkspace(documents: 8);
        var connection = await server.CreateDatabaseAsync();
        var url = UrlWithPassword(connection);
        File.WriteAllText(workspace.JobPath, File.ReadAllText(workspace.JobPath).Replace("  store: store", $"  store: store\n  database: {url}"));

        var run = await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Empty(run.StderrLines);

        var status = await SweepProcess.RunAsync(workspace.Root, "status", "--db", url);
        var report = await SweepProcess.RunAsync(workspace.Root, "report", "--db", url, "--out", "report");
        var dbUrl = await SweepProcess.RunAsync(workspace.Root, "db", "url", "--db", url);
        foreach (var command in new[] { status, report, dbUrl })
        {
            Assert.True(command.ExitCode == 0, command.Stderr);
            Assert.Equal("sweep: warning: the --db connection carries a password, which other users can read in the process list; " +
                         "leave it out and set PGPASSWORD or a ~/.pgpass entry instead", Assert.Single(command.StderrLines));
        }

        var stored = await EverythingStoredAsync(connection);
        await using (var db = new NpgsqlConnection(connection))
        {
            await db.OpenAsync();
            await using var spec = new NpgsqlCommand("SELECT spec_yaml FROM runs", db);
            var yaml = (string)(await spec.ExecuteScalarAsync())!;
            Assert.Contains($"  database: \"{url.Replace(":" + Password, "")}\"", yaml);   // the job text is kept, without its password
        }
        var html = File.ReadAllText(Path.Combine(workspace.Root, "report", "report.html"));
        Assert.Contains("database: &quot;postgresql://sweep@/", html);
        foreach (var (what, text) in new[]
                 {
                     ("database rows", stored), ("report.html", html), ("run output", run.Stdout + run.Stderr),
                     ("status output", status.Stdout), ("report output", report.Stdout), ("db url output", dbUrl.Stdout),
                 })
            Assert.False(text.Contains(Password), $"the password appears in the {what}");
    }
}
