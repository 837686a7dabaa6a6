using Npgsql;
using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

public sealed class ConnectionStringsTests
{
    [Fact]
    public void A_url_becomes_an_npgsql_connection_string()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionStrings.Normalize("postgresql://alice:s3cret@db.example:6543/results"));
        Assert.Equal(("db.example", 6543, "alice", "s3cret", "results"), (b.Host, b.Port, b.Username, b.Password, b.Database));
    }

    [Fact]
    public void Url_parts_are_percent_decoded_and_query_parameters_are_mapped()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionStrings.Normalize(
            "postgres://bob:p%40ss%2Fw+rd@[::1]/my%20db?sslmode=disable&application_name=sweep-test"));
        Assert.Equal(("::1", 5432, "bob", "p@ss/w+rd", "my db"), (b.Host, b.Port, b.Username, b.Password, b.Database));
        Assert.Equal(SslMode.Disable, b.SslMode);
        Assert.Equal("sweep-test", b.ApplicationName);
    }

    [Fact]
    public void A_socket_directory_can_be_given_as_the_host_parameter()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionStrings.Normalize("postgresql://sweep@/sweep?host=/tmp/sock%20dir&port=5433"));
        Assert.Equal(("/tmp/sock dir", 5433, "sweep", "sweep"), (b.Host, b.Port, b.Username, b.Database));
    }

    [Fact]
    public void Key_value_strings_pass_through()
    {
        var b = new NpgsqlConnectionStringBuilder(ConnectionStrings.Normalize("Host=h;Port=1234;Database=d;Username=u;Password=p"));
        Assert.Equal(("h", 1234, "d", "u", "p"), (b.Host, b.Port, b.Database, b.Username, b.Password));
    }

    [Fact]
    public void Unsupported_url_parameters_and_bad_ports_are_named()
    {
        Assert.Contains("'frobnicate'", Assert.Throws<ArgumentException>(() => ConnectionStrings.Normalize("postgresql://h/d?frobnicate=1")).Message);
        Assert.Contains("invalid port 'x'", Assert.Throws<ArgumentException>(() => ConnectionStrings.Normalize("postgresql://h:x/d")).Message);
    }

    [Fact]
    public void Redact_removes_passwords_from_urls_and_key_value_strings()
    {
        Assert.Equal("postgresql://alice@db:5432/results?sslmode=require",
            ConnectionStrings.Redact("postgresql://alice:s3cret@db:5432/results?password=other&sslmode=require"));
        var redacted = ConnectionStrings.Redact("Host=h;Username=u;Password=s3cret;Database=d");
        Assert.DoesNotContain("s3cret", redacted);
        Assert.Contains("Host=h", redacted);
        Assert.Equal("<unparsable connection string>", ConnectionStrings.Redact("Password=s3cret;=;;=="));
    }

    [Fact]
    public void Describe_gives_host_port_and_database_only()
    {
        Assert.Equal("db:6543/results", ConnectionStrings.Describe("postgresql://alice:s3cret@db:6543/results"));
        Assert.Equal("/run/pg:5432/sweep", ConnectionStrings.Describe("Host=/run/pg;Database=sweep;Password=x"));
    }
}
