namespace Sweep.Storage.Database;

/// <summary>The PostgreSQL server cannot be reached or refused the connection. The message is one line, without passwords.</summary>
public sealed class DatabaseUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
