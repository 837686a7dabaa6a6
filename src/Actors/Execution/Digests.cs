using System.Security.Cryptography;
using System.Text;

namespace Sweep.Actors.Execution;

internal static class Digests
{
    /// <summary>One SHA-256 over several hex digests in order: the checksum of a unit's set of output files.</summary>
    public static string Combine(IEnumerable<string> digests) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(string.Join("\n", digests))));
}
