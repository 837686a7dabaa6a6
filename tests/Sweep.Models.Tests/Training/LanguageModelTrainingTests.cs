using Sweep.Models.Architectures;
using Sweep.Models.Demo;
using Sweep.Models.Tests.Demo;
using Sweep.Models.Tokenizers;
using Sweep.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sweep.Models.Tests.Training;

public sealed class LanguageModelTrainingTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sweep-lm-training-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private const int Length = 32;

    /// <summary>A slice of the Brown Corpus (the first news files), a 200-merge tokenizer learned from it, and its token streams.</summary>
    private sealed record Slice(ByteLevelBpeVocabulary Vocabulary, TokenStream Train, TokenStream HeldOut);

    private static readonly Lazy<Slice?> BrownSlice = new(() =>
    {
        if (BrownCorpusLocation.TryGet() is not { } brown) return null;
        var texts = BrownCorpus.Read(brown, maxFiles: 4).SelectMany(DemoCorpus.Documents).Select(d => d.Text.Text).ToList();
        var train = texts.Take(texts.Count - 40).ToList();
        var vocabulary = ByteLevelBpeTrainer.Train(string.Join(Gpt2ByteLevel.EndOfText, train), 200);
        var folder = Directory.CreateTempSubdirectory("sweep-lm-tokenizer-").FullName;
        try
        {
            vocabulary.WriteTo(folder);
            var tokenizer = TokenizerLoader.Load(folder);
            TokenStream Stream(IEnumerable<string> docs) => TokenStream.FromDocuments(docs.Select(t => tokenizer.Encode(t, addBos: false)), vocabulary.EndOfTextId);
            return new Slice(vocabulary, Stream(train), Stream(texts.Skip(texts.Count - 40)));
        }
        finally { Directory.Delete(folder, recursive: true); }
    });

    private static TrainableDecoder Tiny(string family, int vocab, int eot, ulong seed) => family switch
    {
        "llama" => new TrainableLlama(new TinyLlamaShape
        {
            VocabSize = vocab, HiddenSize = 32, IntermediateSize = 64, NumLayers = 2, NumHeads = 4, NumKeyValueHeads = 2,
            MaxPositions = 64, BosTokenId = eot, EosTokenId = eot,
        }, seed),
        "gpt2" => new TrainableGpt2(new Gpt2Shape { VocabSize = vocab, HiddenSize = 32, NumLayers = 2, NumHeads = 4, MaxPositions = 64, EosTokenId = eot }, seed),
        _ => throw new ArgumentException(family),
    };

    private static readonly LanguageModelTrainingOptions FewSteps = new()
    {
        Steps = 150, BatchSize = 8, SequenceLength = Length, PeakLearningRate = 1e-2, WarmupSteps = 5, DataSeed = 3,
    };

    [Theory]
    [InlineData("llama")]
    [InlineData("gpt2")]
    public void Training_lowers_the_loss_and_the_saved_hf_directory_runs_with_the_same_logits(string family)
    {
        if (BrownSlice.Value is not { } slice) return;
        using var model = Tiny(family, slice.Vocabulary.Tokens.Count, slice.Vocabulary.EndOfTextId, seed: 5);
        var starts = slice.HeldOut.EvaluationWindowStarts(Length, 32);
        double before = LanguageModelTrainer.HeldOutLoss(model, slice.HeldOut, starts, Length);
        Assert.InRange(before, Math.Log(slice.Vocabulary.Tokens.Count) - 0.5, Math.Log(slice.Vocabulary.Tokens.Count) + 0.5);   // near uniform at init

        var result = LanguageModelTrainer.Train(model, slice.Train, FewSteps);

        double after = LanguageModelTrainer.HeldOutLoss(model, slice.HeldOut, starts, Length);
        Assert.True(result.StepLosses.Take(5).Average() - result.StepLosses.TakeLast(5).Average() > 0.5,
                    $"training loss went from {result.StepLosses.Take(5).Average():F3} to {result.StepLosses.TakeLast(5).Average():F3}");
        Assert.True(after < before - 0.5, $"held-out loss went from {before:F3} to {after:F3}");
        double unigram = UnigramBaseline.Loss(slice.Train, slice.HeldOut.EvaluationTargets(starts, Length), slice.Vocabulary.Tokens.Count);
        Assert.True(after < unigram, $"held-out loss {after:F3} is not below the unigram baseline's {unigram:F3}");

        // The saved directory, loaded by the inference code, computes the trained model's logits.
        var folder = Path.Combine(_root, family);
        model.Save(folder);
        slice.Vocabulary.WriteTo(folder);
        using var loaded = ModelFamilies.Load(ModelDescriptor.Read(folder), torch.CPU, ScalarType.Float32);
        using var scope = torch.NewDisposeScope();
        var ids = slice.HeldOut.Tokens.Take(2 * Length).Select(t => (long)t).ToArray();
        var tokens = torch.tensor(ids, [2, Length], ScalarType.Int64);
        Tensor trained;
        using (torch.no_grad()) trained = model.Logits(tokens);
        var (_, logits) = loaded.Forward(tokens, [Length, Length], new HashSet<string>(), logits: true);
        double maxDiff = (logits! - trained).abs().max().item<float>();
        Assert.True(maxDiff < 1e-4, $"loaded logits differ from the trained module's by {maxDiff}");
        Assert.True(trained.abs().max().item<float>() > 1, "logits too small for the comparison to mean anything");
    }

    [Fact]
    public void The_same_seeds_train_byte_identical_weights_and_another_data_seed_different_ones()
    {
        if (BrownSlice.Value is not { } slice) return;
        string Train(string name, ulong dataSeed)
        {
            using var model = Tiny("llama", slice.Vocabulary.Tokens.Count, slice.Vocabulary.EndOfTextId, seed: 9);
            LanguageModelTrainer.Train(model, slice.Train, FewSteps with { Steps = 8, DataSeed = dataSeed });
            model.Save(Path.Combine(_root, name));
            return Path.Combine(_root, name, "model.safetensors");
        }
        var a = File.ReadAllBytes(Train("a", 1));
        var b = File.ReadAllBytes(Train("b", 1));
        var c = File.ReadAllBytes(Train("c", 2));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Training_survives_garbage_collections_on_another_thread()
    {
        // Every number libtorch reads must be a held Scalar (see HeldScalars): an implicit one can be freed mid-call by a
        // GC another thread triggers (square() is pow(2) with an implicit Scalar: gradient clipping written with it failed this way).
        var rng = new Random(4);
        var stream = TokenStream.FromDocuments(Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 20).Select(_ => rng.Next(40)).ToArray()), endOfText: 40);
        bool stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop)) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        });
        collector.Start();
        try
        {
            foreach (var family in new[] { "llama", "gpt2" })
            {
                using var model = Tiny(family, 41, 40, seed: 1);
                LanguageModelTrainer.Train(model, stream, FewSteps with { Steps = 30, BatchSize = 4, SequenceLength = 16 });
                LanguageModelTrainer.HeldOutLoss(model, stream, stream.EvaluationWindowStarts(16, 8), 16);
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
    }

    [Fact]
    public void The_unigram_baseline_is_the_add_one_smoothed_training_frequency()
    {
        // Training stream: documents [0 0 1] and [0] with end-of-text 3: counts 0:3, 1:1, 2:0, 3:2; N = 6, V = 4.
        var train = TokenStream.FromDocuments([[0, 0, 1], [0]], endOfText: 3);
        Assert.Equal([0, 0, 1, 3, 0, 3], train.Tokens);
        Assert.Equal([0, 4], train.DocumentStarts);
        double expected = -(Math.Log(4.0 / 10) + Math.Log(1.0 / 10) + Math.Log(2.0 / 10)) / 3;
        Assert.Equal(expected, UnigramBaseline.Loss(train, [0, 2, 1], vocabSize: 4), 12);
    }

    [Fact]
    public void The_learning_rate_warms_up_linearly_then_decays_by_cosine_to_its_floor()
    {
        // Decay runs over steps 10..110: step 60 is halfway, where the cosine is at the middle of peak and floor.
        var o = new LanguageModelTrainingOptions { Steps = 111, WarmupSteps = 10, PeakLearningRate = 1e-3, FinalLearningRateFraction = 0.1 };
        Assert.Equal(1e-4, o.LearningRate(0), 12);
        Assert.Equal(1e-3, o.LearningRate(9), 12);
        Assert.Equal(1e-3, o.LearningRate(10), 12);
        Assert.Equal(0.55e-3, o.LearningRate(60), 12);
        Assert.Equal(1e-4, o.LearningRate(110), 12);
    }

    [Fact]
    public void Evaluation_windows_are_evenly_spaced_over_the_whole_stream()
    {
        var stream = TokenStream.FromDocuments([Enumerable.Range(0, 100).ToArray()], endOfText: 100);   // 101 tokens
        Assert.Equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], stream.EvaluationWindowStarts(10, 100));   // (101 - 1) / 10 windows
        Assert.Equal([0, 50], stream.EvaluationWindowStarts(10, 2));
        Assert.Equal(Enumerable.Range(51, 10), stream.EvaluationTargets([50], 10));
    }
}
