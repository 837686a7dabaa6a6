using Sweep.Models.Architectures;
using Sweep.Models.Hooks;
using Sweep.Models.Saes;
using Sweep.Models.Tests.Saes;
using Sweep.Models.Tokenizers;
using Xunit;

namespace Sweep.Models.Tests;

/// <summary>What the features analysis reads from weights and tokenizers: the unembedding with the final norm's gain, SAE decoder rows, readable token texts.</summary>
public sealed class FeatureWeightsTests
{
    [Theory]
    [InlineData("gpt2")]
    [InlineData("gpt2-bare")]
    [InlineData("gpt_neox")]
    [InlineData("llama")]
    [InlineData("gemma2")]
    public void The_unembedding_and_final_norm_gain_read_from_a_checkpoint_reproduce_the_models_own_logits(string family)
    {
        using var checkpoint = TinyCheckpoint.Write(family, seed: 3);
        var descriptor = ModelDescriptor.Read(checkpoint.Directory);
        var u = Unembedding.Read(descriptor);
        Assert.Equal((descriptor.Config.VocabSize, descriptor.HiddenSize), (u.Vocab, u.DModel));

        using var model = CausalLm.Load(checkpoint.Directory);
        int[] tokens = [3, 9, 4, 1, 7];
        var normalized = model.Capture([tokens], [HookPoints.FinalNormalized], 1)[HookPoints.FinalNormalized];
        var h = normalized.Row(normalized.Rows - 1);
        var logits = model.Logits(tokens);
        double cap = descriptor.Config.FinalLogitSoftcapping ?? 0;
        for (int v = 0; v < u.Vocab; v++)
        {
            double expected = 0;
            for (int i = 0; i < u.DModel; i++) expected += (h[i] * u.Gain[i] + (u.Bias?[i] ?? 0)) * u.Weight[v * u.DModel + i];
            double actual = cap > 0 ? cap * Math.Atanh(logits[v] / cap) : logits[v];   // undo Gemma-2's final soft-capping
            Assert.True(Math.Abs(expected - actual) < 1e-3 * (1 + Math.Abs(expected)), $"{family} token {v}: {actual} from the model, {expected} from the read weights");
        }
    }

    [Fact]
    public void An_SAEs_decoder_rows_are_its_W_dec()
    {
        var dir = Directory.CreateTempSubdirectory("sweep-decoder-").FullName;
        try
        {
            using var sae = RandomSaes.SaeLens(RandomSaes.Config(SaeArchitecture.Standard, dIn: 12, dSae: 20), seed: 4);
            SaeLensWriter.Save(sae, dir);
            var decoder = SaeDecoder.Read(dir);
            Assert.Equal((20, 12), (decoder.Features, decoder.DIn));
            Assert.Equal(sae.WDec, decoder.Rows);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Byte_level_BPE_tokens_read_as_their_text_with_line_breaks_and_tabs_made_visible()
    {
        var dir = Directory.CreateTempSubdirectory("sweep-texts-").FullName;
        try
        {
            var vocabulary = ByteLevelBpeTrainer.TrainTo(dir, "the cat sat on the mat\nthe dog sat\ton the log\n", 20);
            var tokenizer = TokenizerLoader.Load(dir);
            var texts = new TokenTexts(tokenizer);
            var ids = tokenizer.Encode("the cat\n\tsat", addBos: false);
            var shown = texts.Of(ids);
            Assert.Equal("the cat↵⇥sat", string.Concat(shown));
            Assert.Contains(shown, t => t.StartsWith(' '));            // Ġ shows as a space
            Assert.DoesNotContain(shown, t => t.Contains('Ġ') || t.Contains('Ċ'));
            Assert.Equal("⟨id 7⟩", new TokenTexts(null)[7]);
            Assert.Equal("a⟨U+0007⟩", TokenTexts.Readable("a\u0007", 1));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
