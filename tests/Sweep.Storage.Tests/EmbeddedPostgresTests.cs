using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

// In the postgres collection so its second server never starts while other database tests run.
[Collection(PostgresCollection.Name)]
public sealed class EmbeddedPostgresTests(PostgresFixture pg)
{
    [Fact]
    public async Task The_shared_server_listens_on_a_unix_socket_only()
    {
        await using var connection = new NpgsqlConnection(pg.Server.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT current_setting('listen_addresses') || '|' || current_database() || '|' || current_user", connection);
        Assert.Equal("|sweep|sweep", await command.ExecuteScalarAsync());
        Assert.StartsWith(pg.Root, pg.Server.SocketDirectory);
    }

    [Fact]
    public async Task A_long_data_dir_uses_a_short_socket_dir_is_reused_while_running_and_survives_a_stale_pid_file()
    {
        var root = Path.Combine(Path.GetTempPath(), "sweep-embedded-" + Guid.NewGuid().ToString("N")[..8], new string('d', 90));
        string? socketDir = null;
        try
        {
            var first = await EmbeddedPostgres.StartAsync(root);
            socketDir = first.SocketDirectory;
            Assert.True(first.StartedHere);
            Assert.StartsWith("/tmp/sweep-pg-", first.SocketDirectory);
            Assert.Equal(first.SocketDirectory, File.ReadAllText(Path.Combine(root, "socket-dir")).Trim());
            Assert.Equal(first.ConnectionUrl, EmbeddedPostgres.DescribeConnection(root));

            // A second start while the first runs reuses that server and does not stop it.
            await using (var second = await EmbeddedPostgres.StartAsync(root))
            {
                Assert.False(second.StartedHere);
                Assert.Equal(first.SocketDirectory, second.SocketDirectory);
            }
            await using (var db = await SweepDatabase.OpenAsync(EmbeddedPostgres.DescribeConnection(root)))
                Assert.NotNull(await db.GetRunAsync(await db.CreateRunAsync("r", "", "d", "/s")));
            await first.StopAsync();
            Assert.False(File.Exists(Path.Combine(first.ClusterDirectory, "postmaster.pid")));

            // A crash leaves postmaster.pid behind; its pid may now belong to another process (here: this test host).
            var pidFile = Path.Combine(first.ClusterDirectory, "postmaster.pid");
            File.WriteAllLines(pidFile, [Environment.ProcessId.ToString(), first.ClusterDirectory, "0", "5432", first.SocketDirectory, "", "0 0", "ready"]);
            File.WriteAllLines(Path.Combine(first.SocketDirectory, ".s.PGSQL.5432.lock"), [Environment.ProcessId.ToString(), first.ClusterDirectory, "0", "5432"]);
            await using var restarted = await EmbeddedPostgres.StartAsync(root);
            Assert.True(restarted.StartedHere);
            await using var again = await SweepDatabase.OpenAsync(restarted.ConnectionString);
            Assert.Equal("r", (await again.GetRunAsync(1))!.Name);
        }
        finally
        {
            await EmbeddedPostgres.StopExistingAsync(root);
            Directory.Delete(Path.GetDirectoryName(root)!, recursive: true);
            if (socketDir is not null && Directory.Exists(socketDir)) Directory.Delete(socketDir, recursive: true);
        }
    }

    [Fact]
    public async Task The_server_runs_while_any_holder_lives_a_stale_holder_does_not_count_and_db_start_keeps_it()
    {
        var root = Path.Combine(Path.GetTempPath(), "sweep-holders-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var first = await EmbeddedPostgres.StartAsync(root);
            var pidFile = Path.Combine(first.ClusterDirectory, "postmaster.pid");
            var second = await EmbeddedPostgres.StartAsync(root);
            // A holder left by a process that died: its file exists but nobody holds its lock.
            var stale = Path.Combine(root, "holders", "999999-0123456789abcdef0123456789abcdef.holder");
            File.WriteAllText(stale, "");

            var inUse = await EmbeddedPostgres.StopExistingAsync(root);   // `sweep db stop` while two instances use it
            Assert.False(inUse.Stopped);
            Assert.Equal(2, inUse.InUseBy.Count);
            Assert.All(inUse.InUseBy, h => Assert.StartsWith($"pid {Environment.ProcessId}", h));
            Assert.False(File.Exists(stale), "the stale holder is deleted when found");

            await second.StopAsync();
            Assert.True(File.Exists(pidFile), "first still holds the server");
            await first.KeepRunningAsync();   // `sweep db start`
            await first.StopAsync();
            Assert.True(File.Exists(pidFile), "kept for psql until `sweep db stop`");
            Assert.True((await EmbeddedPostgres.StopExistingAsync(root)).Stopped);
            Assert.False(File.Exists(pidFile));
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "holders")));
        }
        finally
        {
            await EmbeddedPostgres.StopExistingAsync(root);
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_start_lock_that_cannot_be_opened_fails_at_once_instead_of_waiting_for_contention()
    {
        var root = Path.Combine(Path.GetTempPath(), "sweep-lock-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(root, ".start.lock"));   // not a file: no process will ever release it
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<EmbeddedPostgresException>(() => EmbeddedPostgres.StartAsync(root));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
            Assert.StartsWith($"{root} is not writable (", e.Message);

            var file = Path.Combine(root, "a-file");
            File.WriteAllText(file, "");
            e = await Assert.ThrowsAsync<EmbeddedPostgresException>(() => EmbeddedPostgres.StartAsync(Path.Combine(file, "postgres")));
            Assert.Equal($"{file} is a file, expected a directory to hold Sweep's embedded PostgreSQL ({Path.Combine(file, "postgres")})", e.Message);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
