namespace Sweep.Models;

/// <summary>A model directory that cannot be used. The message is one line naming the file and what was expected.</summary>
public sealed class ModelLoadException(string message, Exception? inner = null) : Exception(message, inner);
