using Sweep.Actors.Hosting;

namespace Sweep.Cluster.Tests;

/// <summary>The remoting settings a node derives from its command line: loopback by default, secrets required beyond it, TLS when asked.</summary>
public sealed class ClusterOptionsTests
{
    [Fact]
    public void A_node_binds_to_loopback_unless_told_otherwise()
    {
        var config = new ClusterOptions { Roles = new HashSet<string> { "worker" } }.ToConfig();
        Assert.Equal("127.0.0.1", config.GetString("akka.remote.dot-netty.tcp.hostname"));
        Assert.Equal("cluster", config.GetString("akka.actor.provider"));
        Assert.False(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
    }

    [Theory]
    [InlineData("0.0.0.0", "", false)]
    [InlineData("10.0.0.5", "", false)]
    [InlineData("10.0.0.5", "s3cret", true)]
    [InlineData("127.0.0.1", "", true)]
    [InlineData("::1", "", true)]
    [InlineData("localhost", "", true)]
    public void Listening_beyond_loopback_needs_a_shared_secret(string host, string secret, bool allowed)
    {
        var problem = new ClusterOptions { Host = host, Secret = secret }.Problem();
        Assert.Equal(allowed, problem is null);
        if (!allowed) Assert.Contains("SWEEP_CLUSTER_SECRET", problem);
    }

    [Fact]
    public void Seeds_roles_and_the_public_address_reach_the_cluster_settings()
    {
        var config = new ClusterOptions
        {
            Host = "0.0.0.0", PublicHost = "node-7.example", Port = 4100, Secret = "x",
            Seeds = ["seed-1:4053", "seed-2:4053"], Roles = new HashSet<string> { "worker", "reducer" },
        }.ToConfig();
        Assert.Equal(["akka.tcp://sweep@seed-1:4053", "akka.tcp://sweep@seed-2:4053"], config.GetStringList("akka.cluster.seed-nodes"));
        Assert.Equal(new[] { "reducer", "worker" }, config.GetStringList("akka.cluster.roles").Order());
        Assert.Equal("node-7.example", config.GetString("akka.remote.dot-netty.tcp.public-hostname"));
        Assert.Equal(4100, config.GetInt("akka.remote.dot-netty.tcp.port"));
    }

    [Fact]
    public void A_certificate_turns_on_tls_with_peer_validation()
    {
        var cert = Path.GetTempFileName();
        try
        {
            var options = new ClusterOptions { TlsCertificate = cert, TlsCertificatePassword = "pa\"ss" };
            Assert.Null(options.Problem());
            var config = options.ToConfig();
            Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.enable-ssl"));
            Assert.False(config.GetBoolean("akka.remote.dot-netty.tcp.ssl.suppress-validation"));
            Assert.True(config.GetBoolean("akka.remote.dot-netty.tcp.ssl.require-mutual-authentication"));
            Assert.Equal(cert, config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.path"));
            Assert.Equal("pa\"ss", config.GetString("akka.remote.dot-netty.tcp.ssl.certificate.password"));
        }
        finally
        {
            File.Delete(cert);
        }
    }

    [Theory]
    [InlineData("--roles", "gpu")]
    [InlineData("--seed", "seed-without-port")]
    [InlineData("--tls-cert", "/nonexistent/node.pfx")]
    public void Bad_settings_are_one_line_naming_the_option(string option, string value)
    {
        var options = option switch
        {
            "--roles" => new ClusterOptions { Roles = new HashSet<string> { value } },
            "--seed" => new ClusterOptions { Seeds = [value] },
            _ => new ClusterOptions { TlsCertificate = value },
        };
        Assert.StartsWith(option, options.Problem());
    }

    [Fact]
    public void The_secret_proof_binds_the_nonce_and_the_subject()
    {
        var secret = new ClusterSecret("correct horse");
        var nonce = ClusterSecret.NewNonce();
        var proof = secret.Prove(nonce, "join 10.0.0.6:4053");
        Assert.True(secret.Verify(nonce, "join 10.0.0.6:4053", proof));
        Assert.False(secret.Verify(nonce, "join 10.0.0.7:4053", proof));
        Assert.False(secret.Verify(ClusterSecret.NewNonce(), "join 10.0.0.6:4053", proof));
        Assert.False(new ClusterSecret("battery staple").Verify(nonce, "join 10.0.0.6:4053", proof));
    }
}
