using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

[Collection(PostgresCollection.Name)]
public sealed class MigrationTests(PostgresFixture pg)
{
    [Fact]
    public async Task Migrations_apply_to_a_fresh_database_and_a_second_open_changes_nothing()
    {
        var connectionString = await pg.CreateEmptyDatabaseAsync();

        await using (await SweepDatabase.OpenAsync(connectionString)) { }
        await using (await SweepDatabase.OpenAsync(connectionString)) { }

        Assert.Equal(Migrator.LatestVersion, await PostgresFixture.ScalarAsync<int>(connectionString, "SELECT max(version) FROM schema_migrations"));
        Assert.Equal((long)Migrator.All.Count, await PostgresFixture.ScalarAsync<long>(connectionString, "SELECT count(*) FROM schema_migrations"));
        Assert.Equal("initial", await PostgresFixture.ScalarAsync<string>(connectionString, "SELECT name FROM schema_migrations WHERE version = 1"));
        var tables = await PostgresFixture.ScalarAsync<string[]>(connectionString,
            "SELECT array_agg(table_name::text ORDER BY table_name) FROM information_schema.tables WHERE table_schema = 'public'");
        Assert.Equal(["concept_means", "contrast_labels", "contrasts", "corpus_labels", "feature_coactivations", "feature_histograms", "feature_links",
            "feature_logits", "feature_matches", "feature_sites", "feature_stats", "metrics", "model_evaluations", "pca_components", "pca_coordinates",
            "runs", "schema_migrations", "selectivity", "shards", "top_examples", "unit_attempts", "units"], tables);

        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        Assert.Empty(await Migrator.MigrateAsync(dataSource));
    }

    [Fact]
    public async Task Metrics_stored_as_NaN_before_undefined_results_existed_become_null_with_a_reason()
    {
        var connectionString = await pg.CreateEmptyDatabaseAsync();
        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            async Task Sql(string sql) { await using var c = new NpgsqlCommand(sql, connection); await c.ExecuteNonQueryAsync(); }
            await Sql("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
            foreach (var migration in Migrator.All.Where(m => !m.Sql.Contains("undefined_reason")))
            {
                await Sql(migration.Sql);
                await Sql($"INSERT INTO schema_migrations (version, name) VALUES ({migration.Version}, '{migration.Name}')");
            }
            await Sql("""
                INSERT INTO runs (name, spec_yaml, spec_digest, store_dir) VALUES ('old', '', '', '');
                INSERT INTO units (run_id, unit_key, stage) VALUES (1, 'u', 'analysis');
                INSERT INTO metrics (run_id, unit_key, analysis, measure, model_a, site_a, value, n_tokens)
                VALUES (1, 'u', 'cka', 'cka_linear', 'a', 's', 'NaN', 5), (1, 'u', 'cka', 'cka_linear', 'a', 't', 0.5, 5);
                """);
        }

        await using var db = await SweepDatabase.OpenAsync(connectionString);
        var metrics = (await db.GetMetricsAsync(1)).Select(m => m.Metric).OrderBy(m => m.SiteA).ToList();
        Assert.Equal((null, "stored as NaN before undefined results were recorded as such"), (metrics[0].Value, metrics[0].UndefinedReason));
        Assert.Equal((0.5, null), (metrics[1].Value, metrics[1].UndefinedReason));
    }

    [Fact]
    public async Task Concurrent_migrators_apply_each_migration_once()
    {
        var connectionString = await pg.CreateEmptyDatabaseAsync();

        var opened = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SweepDatabase.OpenAsync(connectionString)));
        foreach (var db in opened) await db.DisposeAsync();

        Assert.Equal((long)Migrator.All.Count, await PostgresFixture.ScalarAsync<long>(connectionString, "SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task A_database_from_a_newer_sweep_is_refused_with_a_clear_message()
    {
        var connectionString = await pg.CreateEmptyDatabaseAsync();
        await using (await SweepDatabase.OpenAsync(connectionString)) { }
        await PostgresFixture.ScalarAsync<object>(connectionString, "INSERT INTO schema_migrations (version, name) VALUES (999, 'future') RETURNING 1");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => SweepDatabase.OpenAsync(connectionString));
        Assert.Contains("schema is at version 999, newer than this Sweep knows", ex.Message);
    }
}

public sealed class UnreachableDatabaseTests
{
    [Fact]
    public async Task A_socket_directory_without_a_server_gives_one_line()
    {
        var missing = Path.Combine(Path.GetTempPath(), "sweep-no-server-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(missing);
        try
        {
            var ex = await Assert.ThrowsAsync<DatabaseUnavailableException>(() =>
                SweepDatabase.OpenAsync($"postgresql://sweep:hunter2@/sweep?host={missing}"));

            Assert.Equal($"cannot connect to PostgreSQL at {missing}:5432/sweep: no server socket at {missing}/.s.PGSQL.5432 (is the server running?)", ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
            Assert.DoesNotContain("hunter2", ex.Message);
        }
        finally
        {
            Directory.Delete(missing);
        }
    }

    [Fact]
    public async Task A_closed_tcp_port_gives_one_line()
    {
        var ex = await Assert.ThrowsAsync<DatabaseUnavailableException>(() =>
            SweepDatabase.OpenAsync("postgresql://sweep:hunter2@127.0.0.1:1/sweep"));

        Assert.StartsWith("cannot connect to PostgreSQL at 127.0.0.1:1/sweep: ", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
    }
}
