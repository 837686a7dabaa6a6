using System.Text.Json;
using Sweep.Tests.Common;

namespace Sweep.Integration.Tests;

/// <summary>`sweep generate MODEL`: greedy ids as one JSON array, equal to the reference implementation's; bad input is one line.</summary>
public sealed class GenerateCommandTests
{
    [Fact]
    public async Task Greedy_decoding_of_stories260K_from_BOS_reproduces_the_reference_tokens()
    {
        var dir = Fixtures.TryGet("stories260K");
        if (dir is null) return;
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "expected_greedy.json")));
        var expected = json.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).Take(31).ToArray();

        var result = await SweepProcess.RunAsync(Path.GetTempPath(), "generate", dir, "--tokens", "30", "--device", "cpu");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(expected, JsonSerializer.Deserialize<int[]>(result.Stdout.Split('\n')[0]));
    }

    [Fact]
    public async Task Ids_that_are_not_numbers_are_one_line_and_exit_1()
    {
        var dir = Fixtures.TryGet("stories260K");
        if (dir is null) return;
        var result = await SweepProcess.RunAsync(Path.GetTempPath(), "generate", dir, "--ids", "1,x", "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("sweep: --ids: 'x' is not a token id, expected comma-separated non-negative integers", Assert.Single(result.StderrLines));
    }
}
