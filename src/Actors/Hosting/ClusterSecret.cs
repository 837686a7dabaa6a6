using System.Security.Cryptography;
using System.Text;

namespace Sweep.Actors.Hosting;

/// <summary>
/// Challenge-response on the cluster's shared secret: the coordinator sends a fresh nonce, the other
/// side answers HMAC-SHA256(secret, nonce + subject). The secret never travels; a replayed answer
/// fails because every nonce is used once.
/// </summary>
public sealed class ClusterSecret(string secret)
{
    private readonly byte[] _key = Encoding.UTF8.GetBytes(secret);

    public static string NewNonce() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public string Prove(string nonce, string subject) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(nonce + "\n" + subject)));

    public bool Verify(string nonce, string subject, string proof) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Prove(nonce, subject)), Encoding.ASCII.GetBytes(proof));
}
