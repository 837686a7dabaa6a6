using System.Diagnostics;
using Npgsql;

namespace Sweep.Integration.Tests.Damage;

/// <summary>
/// Damage (issue 17, point 8): mistakes that used to give raw .NET or parser text, or a silent three-minute wait, are
/// one clear line each, with a non-zero exit, and nothing is stored.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RoughMessagesTests(ServerFixture server)
{
    private static async Task<long> RunCountAsync(string connection)
    {
        await using var db = new NpgsqlConnection(connection);
        await db.OpenAsync();
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('public.runs') IS NOT NULL", db))
            if (!(bool)(await exists.ExecuteScalarAsync())!) return 0;   // the command never even reached the database
        await using var command = new NpgsqlCommand("SELECT count(*) FROM runs", db);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static string OneLine(SweepProcess.Result result, int exitCode)
    {
        Assert.True(result.ExitCode == exitCode, $"exit {result.ExitCode}: {result.Stderr}");
        return Assert.Single(result.StderrLines);
    }

    [Fact]
    public async Task A_non_numeric_run_id_a_directory_as_the_job_and_tab_indentation_are_one_clear_line_each()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var connection = await server.CreateDatabaseAsync();

        var resume = OneLine(await SweepProcess.RunAsync(workspace.Root, "run", "--resume", "abc", "--db", connection), 1);
        Assert.Equal("sweep: --resume: 'abc' is not a run id, expected a positive integer such as 12, the id `sweep run` prints (see `sweep run --help`)", resume);
        var status = OneLine(await SweepProcess.RunAsync(workspace.Root, "status", "last", "--db", connection), 1);
        Assert.StartsWith("sweep: RUN: 'last' is not a run id", status);

        var directory = OneLine(await SweepProcess.RunAsync(workspace.Root, "run", ".", "--db", connection), 2);
        Assert.Equal($".: is a directory, expected a YAML job file such as {Path.Combine(".", "job.yaml")} (it holds: job.yaml)", directory);

        var lines = File.ReadAllLines(workspace.JobPath);
        int batch = Array.FindIndex(lines, l => l.Contains("batch_size"));
        lines[batch] = "\t" + lines[batch].TrimStart();
        File.WriteAllLines(workspace.JobPath, lines);
        var tab = OneLine(await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--db", connection), 2);
        Assert.Equal($"job.yaml:{batch + 1}:1: a tab in the indentation; YAML does not allow tabs for indentation, expected spaces", tab);

        Assert.Equal(0, await RunCountAsync(connection));
        Assert.Empty(workspace.StoreFiles());
    }

    [Fact]
    public async Task A_home_that_is_a_file_is_named_as_such()
    {
        using var workspace = new JobWorkspace(documents: 4);
        File.WriteAllText(Path.Combine(workspace.Root, "not-a-home"), "");
        var line = OneLine(await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml", "--home", "not-a-home"), 1);
        Assert.Equal("sweep: --home not-a-home is a file, expected a directory (Sweep's own folder: its embedded PostgreSQL lives in HOME/postgres)", line);
        Assert.Empty(workspace.StoreFiles());
    }

    [Fact]
    public async Task A_read_only_initialised_home_fails_at_once_saying_it_is_not_writable()
    {
        using var workspace = new JobWorkspace(documents: 4);
        var home = Path.Combine(workspace.Root, ".sweep");
        var started = await SweepProcess.RunAsync(workspace.Root, "db", "start");
        Assert.True(started.ExitCode == 0, started.Stderr);
        Assert.Equal("stopped", (await SweepProcess.RunAsync(workspace.Root, "db", "stop")).Stdout.Trim());

        await using var readOnly = await ReadOnly.MakeAsync(home);
        if (readOnly is null) return;   // root without CAP_SYS_ADMIN: no way to make a directory read-only for this process
        var clock = Stopwatch.StartNew();
        var line = OneLine(await SweepProcess.RunAsync(workspace.Root, "run", "job.yaml"), 1);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}: a read-only home is not lock contention");
        Assert.StartsWith($"sweep: {Path.Combine(home, "postgres")} is not writable (", line);
        Assert.EndsWith("); Sweep's embedded PostgreSQL keeps its data and locks there: choose a writable --home, or a server with --db", line);
        Assert.Empty(workspace.StoreFiles());
    }

    /// <summary>
    /// A directory made read-only for this process: write permission removed, or, for root (whom permissions do not
    /// stop), a read-only bind mount of the directory onto itself. Undone on dispose.
    /// </summary>
    private sealed class ReadOnly(string directory, bool mounted) : IAsyncDisposable
    {
        public static async Task<ReadOnly?> MakeAsync(string directory)
        {
            if (!Environment.IsPrivilegedProcess)
            {
                foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Append(directory))
                    File.SetUnixFileMode(path, File.GetUnixFileMode(path) & ~(UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite));
                return new ReadOnly(directory, mounted: false);
            }
            if (await RunAsync("mount", "--bind", directory, directory) != 0) return null;
            if (await RunAsync("mount", "-o", "remount,bind,ro", directory) != 0)
            {
                await RunAsync("umount", directory);
                return null;
            }
            return new ReadOnly(directory, mounted: true);
        }

        public async ValueTask DisposeAsync()
        {
            if (mounted) { await RunAsync("umount", directory); return; }
            foreach (var path in Directory.EnumerateFileSystemEntries(directory, "*", SearchOption.AllDirectories).Append(directory))
                File.SetUnixFileMode(path, File.GetUnixFileMode(path) | UnixFileMode.UserWrite);
        }

        private static async Task<int> RunAsync(string exe, params string[] args)
        {
            var start = new ProcessStartInfo(exe) { RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (var a in args) start.ArgumentList.Add(a);
            using var process = Process.Start(start)!;
            await process.WaitForExitAsync();
            return process.ExitCode;
        }
    }
}
