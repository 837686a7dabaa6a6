using Sweep.Storage.Database;
using Xunit;

namespace Sweep.Storage.Tests;

/// <summary>model_evaluations: a run's models and baselines with their held-out scores, stored and read back, models first.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ModelEvaluationTests(PostgresFixture pg) : IAsyncLifetime
{
    private SweepDatabase _db = null!;

    public async Task InitializeAsync() => _db = await pg.OpenAsync();

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private static ModelEvaluationRow Model(string name, double loss, int steps) =>
        new(ModelEvaluationRow.ModelRole, name, $"{name}, d=16", "held-out windows", loss, Math.Exp(loss), 4096, 1234, steps, steps * 1024L, $"/models/{name}/sweep-demo.json");

    [Fact]
    public async Task A_runs_model_evaluations_read_back_models_by_name_then_baselines_with_nulls_kept_and_a_second_insert_replaces_a_row()
    {
        var run = await _db.CreateRunAsync("eval", "version: 1\n", "sha256:spec", "/tmp/store");
        var other = await _db.CreateRunAsync("eval", "version: 1\n", "sha256:spec", "/tmp/store");
        var baseline = new ModelEvaluationRow(ModelEvaluationRow.BaselineRole, "unigram", "unigram, add-one", "held-out windows", 6.75, Math.Exp(6.75), 4096,
            null, null, null, "/models/b/sweep-demo.json");
        await _db.InsertModelEvaluationsAsync(run, [Model("zeta", 5.0, 1000), baseline, Model("alpha", 8.1, 0)]);
        await _db.InsertModelEvaluationsAsync(other, [Model("other", 4.0, 10)]);

        Assert.Equal([Model("alpha", 8.1, 0), Model("zeta", 5.0, 1000), baseline], await _db.GetModelEvaluationsAsync(run));

        await _db.InsertModelEvaluationsAsync(run, [Model("zeta", 4.5, 2000)]);
        Assert.Equal([Model("alpha", 8.1, 0), Model("zeta", 4.5, 2000), baseline], await _db.GetModelEvaluationsAsync(run));
        Assert.Equal([Model("other", 4.0, 10)], await _db.GetModelEvaluationsAsync(other));
    }

    [Fact]
    public async Task A_non_finite_perplexity_is_refused_and_nothing_of_the_batch_is_stored()
    {
        var run = await _db.CreateRunAsync("eval", "version: 1\n", "sha256:spec", "/tmp/store");
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            _db.InsertModelEvaluationsAsync(run, [Model("fine", 5.0, 10), Model("diverged", 800, 10) with { Perplexity = double.PositiveInfinity }]));
        Assert.Contains("'diverged' is not finite", error.Message);
        Assert.Empty(await _db.GetModelEvaluationsAsync(run));
    }
}
