namespace Sweep.Storage.Database;

/// <summary>The managed local PostgreSQL could not be found, initialised, started or stopped. One-line message.</summary>
public sealed class EmbeddedPostgresException(string message, Exception? inner = null) : Exception(message, inner);
