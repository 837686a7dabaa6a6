using Sweep.Actors.Runs;
using Sweep.Pipeline.Runs;
using Sweep.Storage.Database;

namespace Sweep.Integration.Tests;

[Collection(ServerCollection.Name)]
public sealed class RunHeartbeatTests(ServerFixture server)
{
    [Fact]
    public async Task A_driven_run_keeps_a_fresh_heartbeat_and_one_left_behind_is_reported_without_a_driver()
    {
        await using var db = await SweepDatabase.OpenAsync(await server.CreateDatabaseAsync());
        long run = await db.CreateRunAsync("heartbeat", "version: 1\n", "sha256:heartbeat", "/tmp/store");
        await db.SetRunStatusAsync(run, RunStatus.Running);

        await using (RunHeartbeat.Start(db, run, interval: TimeSpan.FromMilliseconds(100)))
        {
            await Task.Delay(1000);
            Assert.True((await db.GetRunAsync(run))!.HeartbeatAge < TimeSpan.FromMilliseconds(600));
        }
        await Task.Delay(800);
        var left = (await db.GetRunAsync(run))!;
        Assert.True(left.HeartbeatAge >= TimeSpan.FromMilliseconds(700), $"heartbeat {left.HeartbeatAge} old after the driver stopped");
        Assert.Null(RunHeartbeat.Warning(left));   // less than three beats missed

        var lost = left with { HeartbeatAge = RunHeartbeat.StaleAfter + TimeSpan.FromSeconds(70) };
        Assert.Equal($"run {run} has had no driver for 1 min 25 s (the process running it stopped without finishing it): sweep run --resume {run} continues it",
            RunHeartbeat.Warning(lost));
        Assert.Null(RunHeartbeat.Warning(lost with { Status = RunStatus.Failed }));
    }
}
