using Sweep.Jobs.Corpus;
using Sweep.Jobs.Spec;

namespace Sweep.Integration.Tests.Concepts;

/// <summary><c>sweep demo prompts</c>: a labelled corpus of day, month and neutral prompts and the study's job for a given model, valid as written.</summary>
public sealed class DemoPromptsTests
{
    [Fact]
    public async Task Demo_prompts_writes_a_labelled_corpus_that_loads_one_prompt_per_sequence_and_a_job_for_the_model()
    {
        using var workspace = new JobWorkspace(documents: 8);
        var result = await SweepProcess.RunAsync(workspace.Root, "demo", "prompts", "study", "--model", "models/tiny-a");
        Assert.True(result.ExitCode == 0, result.Stderr);
        var job = await File.ReadAllTextAsync(Path.Combine(workspace.Root, "study", "days.yaml"));
        Assert.Contains("path: ../models/tiny-a", job);
        Assert.Contains("sites: [hook_embed, blocks.1.hook_resid_post, blocks.2.hook_resid_post, blocks.3.hook_resid_post]", job);   // 4 layers
        Assert.Contains("order: [monday, tuesday, wednesday, thursday, friday, saturday, sunday]", job);

        var spec = JobLoader.Load(Path.Combine(workspace.Root, "study", "days.yaml"));
        Assert.Equal(["concept_means", "pca", "pca", "contrast", "selectivity"], spec.Analyses.Select(a => a.Kind));
        var corpus = CorpusLoader.Load(spec);
        var (names, bySequence) = corpus.Labels!.Index("label");
        Assert.Equal(7 + 12 + 1, names.Count);
        Assert.Equal(7 * 10 + 12 * 8 + 20, corpus.SequenceCount);
        Assert.Equal(10, bySequence.Count(l => names[l] == "friday"));
        Assert.Equal(20, bySequence.Count(l => names[l] == "neutral"));
        Assert.Equal(["day", "month", "neutral"], corpus.Labels.Index("group").Names);

        var validated = await SweepProcess.RunAsync(workspace.Root, "validate", "study/days.yaml");
        Assert.True(validated.ExitCode == 0, validated.Stderr);
        Assert.Contains("valid (1 models, 4 sites, 5 analyses; corpus ", validated.Stdout);
    }
}
