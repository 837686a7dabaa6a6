using System.Diagnostics;

namespace Sweep.Storage.Database;

/// <summary>
/// Who is using an embedded PostgreSQL server, so that the last user stops it and no user loses it.
/// Concurrency: every process (every <see cref="EmbeddedPostgres"/> instance) that uses the server holds one
/// file in <c>holders/</c> open with an exclusive lock (<c>flock</c> on Linux, through <see cref="FileShare.None"/>)
/// for as long as it uses it. The kernel drops the lock when the process dies, however it dies, so a holder
/// whose file can be locked by someone else is gone (a crash, SIGKILL) and does not count: it is deleted.
/// <c>sweep db start</c> leaves one more holder that belongs to no process (<see cref="KeptFile"/>), counted
/// until <c>sweep db stop</c> removes it. Every method here runs under the data directory's start lock, so
/// registering, counting and stopping never interleave.
/// </summary>
internal static class ServerHolders
{
    public const string Folder = "holders";
    /// <summary>The holder <c>sweep db start</c> leaves: the server stays up for psql until <c>sweep db stop</c>.</summary>
    public const string KeptFile = "kept-by-db-start";
    private const string Extension = ".holder";

    /// <summary>Registers this process (this instance) as a user of the server; dispose to unregister.</summary>
    public static Holder Register(string root)
    {
        var folder = Directory.CreateDirectory(Path.Combine(root, Folder)).FullName;
        var path = Path.Combine(folder, $"{Environment.ProcessId}-{Guid.NewGuid():N}{Extension}");
        // Empty: a locked file cannot be read by others anyway; its name carries the pid.
        return new Holder(path, new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None));
    }

    /// <summary>The live process holders (not counting <paramref name="except"/>); stale ones are deleted on the way.</summary>
    public static IReadOnlyList<string> Live(string root, Holder? except = null)
    {
        var folder = Path.Combine(root, Folder);
        if (!Directory.Exists(folder)) return [];
        var live = new List<string>();
        foreach (var path in Directory.EnumerateFiles(folder, "*" + Extension))
        {
            if (except is not null && path == except.Path) continue;
            if (IsHeld(path)) live.Add(Describe(path));
        }
        return live;
    }

    public static bool IsKept(string root) => File.Exists(Path.Combine(root, Folder, KeptFile));

    public static void Keep(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, Folder));
        File.WriteAllText(Path.Combine(root, Folder, KeptFile), $"kept running by `sweep db start` at {DateTimeOffset.UtcNow:u}\n");
    }

    /// <summary>Removes the <c>sweep db start</c> holder; returns whether there was one.</summary>
    public static bool Unkeep(string root)
    {
        var path = Path.Combine(root, Folder, KeptFile);
        if (!File.Exists(path)) return false;
        File.Delete(path);
        return true;
    }

    // A holder's file can be locked here only when no process holds it any more: then it is stale.
    private static bool IsHeld(string path)
    {
        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            File.Delete(path);
            return false;
        }
        catch (FileNotFoundException)
        {
            return false;
        }
        catch (IOException e) when (StartLock.IsContention(e))
        {
            return true;
        }
    }

    /// <summary>"pid N (command line)" of a live holder, for messages.</summary>
    private static string Describe(string path)
    {
        var pid = Path.GetFileName(path).Split('-')[0];
        try
        {
            var command = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
            return command.Length > 0 ? $"pid {pid} ({command})" : $"pid {pid}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"pid {pid}";
        }
    }

    /// <summary>One registration: the locked file, kept open until disposed.</summary>
    public sealed class Holder(string path, FileStream stream) : IDisposable
    {
        public string Path { get; } = path;
        private FileStream? _stream = stream;

        public void Dispose()
        {
            if (_stream is null) return;
            // Delete while still locked, so no prober ever sees it unlocked and present.
            try { File.Delete(Path); } catch (IOException) { }
            _stream.Dispose();
            _stream = null;
        }
    }
}

/// <summary>
/// The data directory's start lock (<c>.start.lock</c>, held exclusively): serialises starting, stopping and
/// the holders' bookkeeping across processes. Waiting is only for another process holding it; any other
/// failure (a read-only file system, no permission) is reported at once.
/// </summary>
internal static class StartLock
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(3);

    public static async Task<FileStream> AcquireAsync(string root, CancellationToken ct)
    {
        var path = Path.Combine(root, ".start.lock");
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException e) when (IsContention(e))
            {
                if (deadline.Elapsed > MaxWait)
                    throw new EmbeddedPostgresException(
                        $"{path}: another Sweep process has held the start lock of the embedded PostgreSQL for {MaxWait.TotalMinutes:0} minutes; is one stuck? (holders: {string.Join("; ", ServerHolders.Live(root).DefaultIfEmpty("none"))})");
                await Task.Delay(200, ct);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new EmbeddedPostgresException(
                    $"{root} is not writable ({e.Message.TrimEnd('.')}); Sweep's embedded PostgreSQL keeps its data and locks there: choose a writable --home, or a server with --db");
            }
        }
    }

    /// <summary>
    /// Whether opening failed because another handle holds the lock. .NET reports a held <c>flock</c> as an
    /// IOException carrying errno EWOULDBLOCK (11) on Linux, and ERROR_SHARING_VIOLATION on Windows; a read-only
    /// file system (EROFS, 30) or a missing directory carry other codes.
    /// </summary>
    public static bool IsContention(IOException e) =>
        e.GetType() == typeof(IOException) && e.HResult is 11 or 35 or unchecked((int)0x80070020);
}
