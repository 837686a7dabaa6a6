using System.Text.Json;
using Sweep.Models.Demo;

namespace Sweep.Models.Tests.Demo;

public sealed class DemoModelsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-demo-models-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static string Weights(string models, string name) => Path.Combine(models, name, "model.safetensors");

    [Fact]
    public void Trained_models_are_reused_only_while_every_file_matches_its_manifest_and_retraining_gives_the_same_bytes()
    {
        var options = new DemoModelsOptions
        {
            BrownDirectory = FakeBrownCorpus.Write(Path.Combine(_root, "brown")),
            CorpusDirectory = Path.Combine(_root, "corpus"),
            Steps = 2,
        };
        var models = Path.Combine(_root, "models");

        var first = DemoModels.Write(models, options);
        Assert.Equal(["llama-a", "gpt2-b", "llama-a-untrained", "gpt2-b-untrained"], first.Models.Select(m => m.Name));
        Assert.Equal([null, null, "llama-a", "gpt2-b"], first.Models.Select(m => m.TwinOf));
        Assert.Equal([2, 2, 0, 0], first.Models.Select(m => m.Steps));   // the twins are the seeded initial weights
        Assert.All(first.Models, m => Assert.False(m.Reused));
        foreach (var name in new[] { "llama-a", "gpt2-b" })
        {
            Assert.Equal(["config.json", "merges.txt", "model.safetensors", "sweep-demo.json", "tokenizer_config.json", "vocab.json"],
                         Directory.GetFiles(Path.Combine(models, name)).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            using var lm = CausalLm.Load(Path.Combine(models, name));   // an ordinary HF directory Sweep's inference loads
            Assert.Equal(first.VocabSize, lm.Descriptor.Config.VocabSize);
        }
        Assert.Equal(["llama", "gpt2", "llama", "gpt2"], first.Models.Select(m => m.Family));
        var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(models, "training.json"))).RootElement;
        Assert.Equal(first.UnigramPerplexity, report.GetProperty("unigram_perplexity").GetDouble());
        Assert.Equal(first.Models[1].HeldOutPerplexity, report.GetProperty("models")[1].GetProperty("held_out_perplexity").GetDouble());
        var llama = File.ReadAllBytes(Weights(models, "llama-a"));
        var gpt2 = File.ReadAllBytes(Weights(models, "gpt2-b"));

        var second = DemoModels.Write(models, options);
        Assert.All(second.Models, m => Assert.True(m.Reused));
        Assert.Equal(first.Models.Select(m => m.HeldOutLoss), second.Models.Select(m => m.HeldOutLoss));
        Assert.Equal(first.UnigramLoss, second.UnigramLoss);

        // A damaged file is never reused: that model alone trains again, to the same bytes.
        var damaged = File.ReadAllBytes(Weights(models, "gpt2-b"));
        damaged[^1] ^= 1;
        File.WriteAllBytes(Weights(models, "gpt2-b"), damaged);
        var third = DemoModels.Write(models, options);
        Assert.Equal([true, false, true, true], third.Models.Select(m => m.Reused));
        Assert.Equal(gpt2, File.ReadAllBytes(Weights(models, "gpt2-b")));
        Assert.Equal(llama, File.ReadAllBytes(Weights(models, "llama-a")));

        // Another training budget is another model.
        var fourth = DemoModels.Write(models, options with { Steps = 3 });
        Assert.All(fourth.Models.Where(m => m.TwinOf is null), m => Assert.False(m.Reused));
        Assert.NotEqual(llama, File.ReadAllBytes(Weights(models, "llama-a")));
        Assert.Empty(Directory.GetDirectories(models, ".*"));   // no temporary folder left behind
    }
}
