using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Sweep.Storage.Database;

/// <summary>
/// The PostgreSQL server Sweep manages itself when no database is configured: initialised once in
/// a data directory Sweep owns, listening on a Unix socket only (no TCP), trust authentication for
/// the owning OS user, superuser and database both named <c>sweep</c>.
/// Layout of <c>dataDir</c>: <c>pgdata/</c> (the cluster), <c>postgres.log</c>, <c>run/</c> (the socket),
/// <c>socket-dir</c> (where the socket is when <c>run/</c> would be too long a path), and
/// <c>cluster-dir</c> (where the cluster is when running as root and the <c>postgres</c> user
/// cannot enter <c>dataDir</c>, e.g. under /root).
/// </summary>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    public const string UserName = "sweep";
    public const string DatabaseName = "sweep";
    public const int Port = 5432;
    private const string ServiceUser = "postgres";
    // sockaddr_un.sun_path is 108 bytes including the terminating NUL.
    private const int MaxSocketPathBytes = 107;

    private readonly Layout _layout;
    private readonly ServerHolders.Holder _holder;
    private bool _released;

    private EmbeddedPostgres(Layout layout, string binDirectory, string socketDirectory, int port, bool startedHere, ServerHolders.Holder holder)
    {
        _layout = layout;
        BinDirectory = binDirectory;
        SocketDirectory = socketDirectory;
        ServerPort = port;
        StartedHere = startedHere;
        _holder = holder;
    }

    public string DataDirectory => _layout.Root;
    public string ClusterDirectory => _layout.PgData;
    public string BinDirectory { get; }
    public string SocketDirectory { get; }
    public int ServerPort { get; }

    /// <summary>False when an already-running server of the same data directory was reused (another run, <c>sweep db start</c>).</summary>
    public bool StartedHere { get; }

    /// <summary>Npgsql connection string for the <c>sweep</c> database.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = SocketDirectory, Port = ServerPort, Username = UserName, Database = DatabaseName,
    }.ConnectionString;

    /// <summary>The same connection as a URL that psql, libpq and <see cref="ConnectionStrings.Normalize"/> accept.</summary>
    public string ConnectionUrl => Url(SocketDirectory, ServerPort);

    /// <summary>
    /// Finds the binaries, initialises <paramref name="dataDir"/> on first use, and starts the server
    /// (or reuses the one already running on this data directory). Waits until it accepts connections
    /// and the <c>sweep</c> database exists. This instance holds the server (see <see cref="ServerHolders"/>)
    /// until <see cref="StopAsync"/>: the server keeps running while any holder, in any process, is alive.
    /// </summary>
    public static async Task<EmbeddedPostgres> StartAsync(string dataDir, CancellationToken ct = default)
    {
        var bin = FindBinDirectory() ?? throw new EmbeddedPostgresException(
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under /usr/lib/postgresql/*/bin; " +
            "install them with `apt-get install postgresql`, or point Sweep at a server with --db postgresql://...");
        var root = Path.GetFullPath(dataDir);
        CreateDataDirectory(root);
        if (Environment.IsPrivilegedProcess && await RunAsync("id", ["-u", ServiceUser], ct) is { ExitCode: not 0 })
            throw new EmbeddedPostgresException(
                $"running as root needs the '{ServiceUser}' OS user to run PostgreSQL (apt-get install postgresql creates it)");

        // Serialises starts, stops and the holders' bookkeeping of one data directory across processes.
        await using var startLock = await StartLock.AcquireAsync(root, ct);
        var holder = ServerHolders.Register(root);
        try
        {
            var layout = await ResolveLayoutAsync(root, ct);
            if (await FindRunningAsync(layout, bin, ct) is { } running)
            {
                var reused = new EmbeddedPostgres(layout, bin, running.SocketDir, running.Port, startedHere: false, holder);
                await reused.EnsureDatabaseAsync(ct);
                return reused;
            }

            if (!File.Exists(Path.Combine(layout.PgData, "PG_VERSION"))) await InitDbAsync(layout, bin, ct);
            await WriteConfigAsync(layout, ct);
            await PrepareSocketDirectoryAsync(layout, ct);

            string[] startArgs = ["start", "-D", layout.PgData, "-l", layout.LogFile, "-w", "-t", "120", "-s"];
            var start = await RunAsServiceAsync(Path.Combine(bin, "pg_ctl"), startArgs, ct);
            if (start.ExitCode != 0)
            {
                // After a crash the old server's processes may take a moment to exit and release shared memory.
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
                start = await RunAsServiceAsync(Path.Combine(bin, "pg_ctl"), startArgs, ct);
            }
            if (start.ExitCode != 0)
                throw new EmbeddedPostgresException(
                    $"PostgreSQL in {layout.PgData} did not start: {LastLogError(layout.LogFile) ?? start.OneLine} (log: {layout.LogFile})");

            var server = new EmbeddedPostgres(layout, bin, layout.SocketDir, Port, startedHere: true, holder);
            try
            {
                await server.EnsureDatabaseAsync(ct);
            }
            catch
            {
                if (ServerHolders.Live(root, except: holder).Count == 0 && !ServerHolders.IsKept(root))
                    await StopClusterAsync(layout.PgData, bin, CancellationToken.None);
                throw;
            }
            return server;
        }
        catch
        {
            holder.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Lets go of the server: stops it (<c>pg_ctl stop -m fast</c>) when no other holder is alive (no other
    /// process using it, no <c>sweep db start</c>), whoever started it; otherwise it keeps running for them.
    /// </summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        if (_released) return;
        _released = true;
        await using var startLock = await StartLock.AcquireAsync(_layout.Root, ct);
        _holder.Dispose();
        if (ServerHolders.Live(_layout.Root).Count == 0 && !ServerHolders.IsKept(_layout.Root)
            && File.Exists(Path.Combine(_layout.PgData, "postmaster.pid")))
            await StopClusterAsync(_layout.PgData, BinDirectory, ct);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    /// <summary>Keeps the server up after every holder has let go, until <see cref="StopExistingAsync"/> (<c>sweep db start</c>).</summary>
    public async Task KeepRunningAsync(CancellationToken ct = default)
    {
        await using var startLock = await StartLock.AcquireAsync(_layout.Root, ct);
        ServerHolders.Keep(_layout.Root);
    }

    /// <summary>What <see cref="StopExistingAsync"/> did.</summary>
    /// <param name="Stopped">The server was running and is stopped now.</param>
    /// <param name="InUseBy">The processes still using it: it keeps running for them, and the last one stops it.</param>
    public sealed record StopResult(bool Stopped, IReadOnlyList<string> InUseBy);

    /// <summary>
    /// <c>sweep db stop</c>: removes the <c>sweep db start</c> holder and stops the server of <paramref name="dataDir"/>
    /// unless a live process still uses it (a run never loses its server).
    /// </summary>
    public static async Task<StopResult> StopExistingAsync(string dataDir, CancellationToken ct = default)
    {
        var root = Path.GetFullPath(dataDir);
        var bin = FindBinDirectory();
        if (!Directory.Exists(root) || bin is null) return new StopResult(false, []);
        await using var startLock = await StartLock.AcquireAsync(root, ct);
        ServerHolders.Unkeep(root);
        var layout = await ResolveLayoutAsync(root, ct, create: false);
        if (await FindRunningAsync(layout, bin, ct) is null) return new StopResult(false, []);
        var live = ServerHolders.Live(root);
        if (live.Count > 0) return new StopResult(false, live);
        await StopClusterAsync(layout.PgData, bin, ct);
        return new StopResult(true, []);
    }

    private static void CreateDataDirectory(string root)
    {
        for (var dir = new DirectoryInfo(root); dir is not null; dir = dir.Parent)
            if (File.Exists(dir.FullName))
                throw new EmbeddedPostgresException($"{dir.FullName} is a file, expected a directory to hold Sweep's embedded PostgreSQL ({root})");
        try { Directory.CreateDirectory(root); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EmbeddedPostgresException($"cannot create {root} for Sweep's embedded PostgreSQL: {e.Message.TrimEnd('.')}");
        }
    }

    /// <summary>
    /// The URL to connect to the server of <paramref name="dataDir"/> while it runs, e.g.
    /// <c>psql 'postgresql://sweep@/sweep?host=/path/run&amp;port=5432'</c> (what <c>sweep db url</c> prints).
    /// </summary>
    public static string DescribeConnection(string dataDir)
    {
        var root = Path.GetFullPath(dataDir);
        var clusterHome = ReadPointer(root, "cluster-dir") ?? root;
        var pid = ReadPidFile(Path.Combine(clusterHome, "pgdata"));
        var socketDir = pid?.SocketDir ?? ReadPointer(root, "socket-dir") ?? ChooseSocketDir(clusterHome);
        return Url(socketDir, pid?.Port ?? Port);
    }

    /// <summary>Directory holding initdb and pg_ctl: PATH first, then the highest /usr/lib/postgresql/N/bin.</summary>
    public static string? FindBinDirectory()
    {
        static bool HasTools(string dir) => File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "initdb"));

        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
            if (HasTools(dir)) return dir;

        const string debianRoot = "/usr/lib/postgresql";
        if (!Directory.Exists(debianRoot)) return null;
        return Directory.GetDirectories(debianRoot)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: decimal.TryParse(Path.GetFileName(d), NumberStyles.Number, CultureInfo.InvariantCulture, out var v) ? v : -1))
            .Where(d => d.Version >= 0 && HasTools(d.Dir))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    // ---- layout ----

    private sealed record Layout(string Root, string ClusterHome, string SocketDir)
    {
        public string PgData => Path.Combine(ClusterHome, "pgdata");
        public string LogFile => Path.Combine(ClusterHome, "postgres.log");
    }

    private static async Task<Layout> ResolveLayoutAsync(string root, CancellationToken ct, bool create = true)
    {
        var clusterHome = ReadPointer(root, "cluster-dir");
        if (clusterHome is null && create && Environment.IsPrivilegedProcess)
        {
            await ChownAsync(root, ct);
            if (await RunAsync("runuser", ["-u", ServiceUser, "--", "test", "-w", root, "-a", "-x", root], ct) is { ExitCode: not 0 })
            {
                // The postgres user cannot enter the data directory (a parent like /root is private):
                // keep the cluster in a private directory it can reach, and remember where.
                clusterHome = Path.Combine("/var/tmp", "sweep-postgres-" + ShortHash(root));
                Directory.CreateDirectory(clusterHome);
                MakePrivate(clusterHome);
                await ChownAsync(clusterHome, ct);
                await File.WriteAllTextAsync(Path.Combine(root, "cluster-dir"), clusterHome + "\n", ct);
            }
        }
        clusterHome ??= root;

        var socketDir = ReadPointer(root, "socket-dir");
        if (socketDir is null)
        {
            socketDir = ChooseSocketDir(clusterHome);
            if (create && socketDir != Path.Combine(clusterHome, "run"))
                await File.WriteAllTextAsync(Path.Combine(root, "socket-dir"), socketDir + "\n", ct);
        }
        return new Layout(root, clusterHome, socketDir);
    }

    private static string ChooseSocketDir(string clusterHome)
    {
        var preferred = Path.Combine(clusterHome, "run");
        var socketPath = Path.Combine(preferred, $".s.PGSQL.{Port}");
        return Encoding.UTF8.GetByteCount(socketPath) <= MaxSocketPathBytes - 1
            ? preferred
            : Path.Combine("/tmp", "sweep-pg-" + ShortHash(clusterHome));
    }

    private static string? ReadPointer(string root, string name)
    {
        var file = Path.Combine(root, name);
        return File.Exists(file) ? File.ReadAllText(file).Trim() is { Length: > 0 } value ? value : null : null;
    }

    private static string ShortHash(string text) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..12];

    private static string Url(string socketDir, int port) =>
        $"postgresql://{UserName}@/{DatabaseName}?host={Uri.EscapeDataString(socketDir).Replace("%2F", "/")}&port={port}";

    // ---- server lifecycle ----

    private sealed record PidFile(int Pid, int Port, string SocketDir);

    private static PidFile? ReadPidFile(string pgData)
    {
        // postmaster.pid lines: pid, data dir, start time, port, socket dir, listen address, shm key, status.
        var file = Path.Combine(pgData, "postmaster.pid");
        try
        {
            var lines = File.ReadAllLines(file);
            if (lines.Length < 5 || !int.TryParse(lines[0].Trim(), out var pid) || !int.TryParse(lines[3].Trim(), out var port)) return null;
            return new PidFile(pid, port, lines[4].Trim());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // A server counts as running only when pg_ctl agrees and the pid really is a postgres process:
    // after a crash or a container restart the old pid may belong to something else.
    private static async Task<PidFile?> FindRunningAsync(Layout layout, string bin, CancellationToken ct)
    {
        var pidPath = Path.Combine(layout.PgData, "postmaster.pid");
        if (!File.Exists(pidPath)) return null;
        var pid = ReadPidFile(layout.PgData);
        var status = await RunAsServiceAsync(Path.Combine(bin, "pg_ctl"), ["status", "-D", layout.PgData], ct);
        if (pid is not null && status.ExitCode == 0 && IsPostgresProcess(pid.Pid))
        {
            if (!File.Exists(Path.Combine(pid.SocketDir, $".s.PGSQL.{pid.Port}")))
                throw new EmbeddedPostgresException(
                    $"a PostgreSQL server (pid {pid.Pid}) runs on {layout.PgData} but its socket {pid.SocketDir} is missing; stop it with pg_ctl stop -D {layout.PgData}");
            return pid;
        }

        // Stale: left by a crash. Postgres trusts these lock files while their pid looks alive, and a
        // killed server's pid can stay a zombie or be reused, so remove them ourselves.
        File.Delete(pidPath);
        foreach (var socketDir in new[] { layout.SocketDir, pid?.SocketDir }.OfType<string>().Distinct())
        {
            var socketLock = Path.Combine(socketDir, $".s.PGSQL.{pid?.Port ?? Port}.lock");
            if (File.Exists(socketLock) && !(int.TryParse(File.ReadLines(socketLock).FirstOrDefault(), out var owner) && IsPostgresProcess(owner)))
                File.Delete(socketLock);
        }
        return null;
    }

    private static bool IsPostgresProcess(int pid)
    {
        try
        {
            // /proc/PID/stat: "pid (comm) state ..."; a killed postmaster nobody has reaped yet is a zombie (Z).
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            var comm = stat[(stat.IndexOf('(') + 1)..close];
            var state = stat[(close + 2)..].FirstOrDefault();
            return state is not ('Z' or 'X') && (comm.StartsWith("postgres", StringComparison.Ordinal) || comm.StartsWith("postmaster", StringComparison.Ordinal));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return false;
        }
    }

    private static async Task InitDbAsync(Layout layout, string bin, CancellationToken ct)
    {
        // initdb into a side directory, renamed when complete, so an interrupted initdb never looks initialised.
        var staging = layout.PgData + ".initdb";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        if (Directory.Exists(layout.PgData) && Directory.EnumerateFileSystemEntries(layout.PgData).Any())
            throw new EmbeddedPostgresException(
                $"{layout.PgData} exists but is not a PostgreSQL data directory (no PG_VERSION); move it away or choose another data directory");
        if (Directory.Exists(layout.PgData)) Directory.Delete(layout.PgData);
        Directory.CreateDirectory(layout.ClusterHome);
        if (Environment.IsPrivilegedProcess) await ChownAsync(layout.ClusterHome, ct);

        var result = await RunAsServiceAsync(Path.Combine(bin, "initdb"),
        [
            "-D", staging, "--username", UserName, "--auth-local", "trust", "--auth-host", "reject",
            "--encoding", "UTF8", "--no-locale", "--no-instructions",
        ], ct);
        if (result.ExitCode != 0)
            throw new EmbeddedPostgresException($"initdb failed in {staging}: {result.OneLine}");
        await File.AppendAllTextAsync(Path.Combine(staging, "postgresql.conf"),
            "\n# Sweep: settings below are rewritten on every start.\ninclude_if_exists = 'sweep.conf'\n", ct);
        Directory.Move(staging, layout.PgData);
    }

    private static async Task WriteConfigAsync(Layout layout, CancellationToken ct)
    {
        static string Quote(string value) => "'" + value.Replace("'", "''") + "'";
        var file = Path.Combine(layout.PgData, "sweep.conf");
        await File.WriteAllTextAsync(file, $"""
            # Written by Sweep on every start of the embedded server.
            listen_addresses = ''
            unix_socket_directories = {Quote(layout.SocketDir)}
            unix_socket_permissions = 0700
            port = {Port}

            """, ct);
        if (Environment.IsPrivilegedProcess) await ChownAsync(file, ct);
    }

    private static async Task PrepareSocketDirectoryAsync(Layout layout, CancellationToken ct)
    {
        Directory.CreateDirectory(layout.SocketDir);
        MakePrivate(layout.SocketDir);
        if (Environment.IsPrivilegedProcess) await ChownAsync(layout.SocketDir, ct);
    }

    private static async Task StopClusterAsync(string pgData, string bin, CancellationToken ct)
    {
        var result = await RunAsServiceAsync(Path.Combine(bin, "pg_ctl"), ["stop", "-D", pgData, "-m", "fast", "-w", "-t", "60", "-s"], ct);
        if (result.ExitCode != 0 && File.Exists(Path.Combine(pgData, "postmaster.pid")))
            throw new EmbeddedPostgresException($"PostgreSQL in {pgData} did not stop: {result.OneLine}");
    }

    private async Task EnsureDatabaseAsync(CancellationToken ct)
    {
        var admin = new NpgsqlConnectionStringBuilder
        {
            Host = SocketDirectory, Port = ServerPort, Username = UserName, Database = "postgres", Pooling = false,
        };
        await using var connection = new NpgsqlConnection(admin.ConnectionString);
        try
        {
            await connection.OpenAsync(ct);
        }
        catch (NpgsqlException ex)
        {
            throw new EmbeddedPostgresException($"cannot connect to the embedded PostgreSQL on {SocketDirectory}: {ex.Message} (log: {_layout.LogFile})", ex);
        }
        await using var exists = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = @name)", connection);
        exists.Parameters.AddWithValue("name", DatabaseName);
        if ((bool)(await exists.ExecuteScalarAsync(ct))!) return;
        await using var create = new NpgsqlCommand($"CREATE DATABASE {DatabaseName}", connection);
        try
        {
            await create.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
        {
            // created meanwhile by another process: fine
        }
    }

    private static string? LastLogError(string logFile)
    {
        try
        {
            return File.ReadLines(logFile).LastOrDefault(l => l.Contains("FATAL") || l.Contains("ERROR") || l.Contains("PANIC"))?.Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    // ---- processes ----

    private sealed record ProcessResult(int ExitCode, string Output)
    {
        public string OneLine => string.Join(' ', Output.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries)).Trim() is { Length: > 0 } text
            ? text
            : $"exit code {ExitCode}";
    }

    // PostgreSQL refuses to run as root; as root, its tools run as the postgres OS user.
    private static Task<ProcessResult> RunAsServiceAsync(string exe, IReadOnlyList<string> args, CancellationToken ct) =>
        Environment.IsPrivilegedProcess ? RunAsync("runuser", ["-u", ServiceUser, "--", exe, .. args], ct) : RunAsync(exe, args, ct);

    private static async Task ChownAsync(string path, CancellationToken ct)
    {
        var result = await RunAsync("chown", ["-R", $"{ServiceUser}:", path], ct);
        if (result.ExitCode != 0) throw new EmbeddedPostgresException($"cannot hand {path} to the {ServiceUser} user: {result.OneLine}");
    }

    private static void MakePrivate(string directory)
    {
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static async Task<ProcessResult> RunAsync(string exe, IReadOnlyList<string> args, CancellationToken ct)
    {
        var info = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new EmbeddedPostgresException($"cannot run {exe}: {ex.Message}", ex);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return new ProcessResult(process.ExitCode, (await stderr + "\n" + await stdout).Trim());
    }
}
