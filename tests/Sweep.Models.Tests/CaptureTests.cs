using Sweep.Models.Hooks;
using Sweep.Tests.Common;
using Xunit;
using Xunit.Abstractions;

namespace Sweep.Models.Tests;

/// <summary>Models shared by the capture tests: the tiny GQA demo model always, stories260K when the fixture is present.</summary>
public sealed class CaptureModels : IDisposable
{
    private readonly TinyModel _tinyDir = new();
    public CausalLm Tiny { get; }
    public CausalLm? Stories { get; }

    public CaptureModels()
    {
        Tiny = CausalLm.Load(_tinyDir.Directory);
        var stories = Fixtures.TryGet("stories260K");
        Stories = stories is null ? null : CausalLm.Load(stories);
    }

    public void Dispose() { Tiny.Dispose(); Stories?.Dispose(); _tinyDir.Dispose(); }
}

/// <summary>What Capture returns: rows for real tokens only, in order, independent of batching and of which sites are asked.</summary>
public sealed class CaptureTests(CaptureModels models, ITestOutputHelper output) : IClassFixture<CaptureModels>
{
    private CausalLm? Model(string name)
    {
        var model = name == "tiny" ? models.Tiny : models.Stories;
        if (model is null) output.WriteLine($"skipped: fixture {name} missing (outside CI)");
        return model;
    }

    private static List<int[]> Sequences(CausalLm model, params int[] lengths)
    {
        var rng = new Random(1234);
        int vocab = model.Descriptor.Config.VocabSize;
        return lengths.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray()).ToList();
    }

    private static string[] SitesAcross(CausalLm model)
    {
        int last = model.Descriptor.NumLayers - 1;
        return [HookPoints.Embed, HookPoints.ResidPre(0), HookPoints.AttnOut(0), HookPoints.ResidMid(1), HookPoints.MlpOut(last),
                HookPoints.ResidPre(last), HookPoints.ResidPost(last), HookPoints.FinalNormalized];
    }

    private static void AssertClose(float[] expected, float[] actual, string what, float tolerance = 1e-5f)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (!(MathF.Abs(expected[i] - actual[i]) <= tolerance * (1 + MathF.Abs(expected[i]))))
                Assert.Fail($"{what}: value {i} is {actual[i]}, expected {expected[i]} (within {tolerance} abs/rel)");
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("stories260K")]
    public void A_sequence_has_the_same_activations_alone_as_in_a_right_padded_batch(string name)
    {
        if (Model(name) is not { } model) return;
        var sequences = Sequences(model, 7, 1, 23, 3, 12);
        var sites = SitesAcross(model);
        var alone = sequences.Select(s => model.Capture([s], sites, batchSize: 1)).ToList();

        foreach (int batchSize in new[] { 2, 5 })
        {
            var batched = model.Capture(sequences, sites, batchSize);
            foreach (var site in sites)
            {
                var expected = alone.SelectMany(a => a[site].Values).ToArray();
                Assert.Equal(sequences.Sum(s => s.Length), batched[site].Rows);   // real tokens only, never padding
                Assert.Equal(model.Descriptor.HiddenSize, batched[site].Width);
                AssertClose(expected, batched[site].Values, $"{name} {site} batch size {batchSize}");
            }
        }
    }

    [Fact]
    public void Rows_follow_sequence_then_position_order()
    {
        var model = models.Tiny;
        var sequences = Sequences(model, 4, 2, 6);
        var embed = model.Capture(sequences, [HookPoints.Embed], batchSize: 3)[HookPoints.Embed];
        int row = 0;
        foreach (var seq in sequences)
            foreach (var token in seq)
            {
                var single = model.Capture([[token]], [HookPoints.Embed], 1)[HookPoints.Embed];
                Assert.Equal(single.Values, embed.Row(row++).ToArray());
            }
        Assert.Equal(row, embed.Rows);
    }

    [Fact]
    public void Activations_of_a_prefix_do_not_depend_on_later_tokens()
    {
        var model = models.Tiny;
        var seq = Sequences(model, 10)[0];
        var site = HookPoints.ResidPost(model.Descriptor.NumLayers - 1);
        var full = model.Capture([seq], [site], 1)[site];
        var prefix = model.Capture([seq[..4]], [site], 1)[site];
        AssertClose(prefix.Values, full.Values[..prefix.Values.Length], "prefix");
    }

    [Theory]
    [InlineData("tiny")]
    [InlineData("stories260K")]
    public void Requesting_one_site_stops_early_and_gives_the_same_values_as_requesting_all(string name)
    {
        if (Model(name) is not { } model) return;
        var sequences = Sequences(model, 5, 9);
        var all = model.Capture(sequences, model.Descriptor.HookPoints.ToList(), batchSize: 2);
        Assert.Equal(model.Descriptor.HookPoints.Order(), all.Keys.Order());

        var site = HookPoints.ResidPost(0);
        var one = model.Capture(sequences, [site], batchSize: 2);
        Assert.Equal([site], one.Keys);
        Assert.Equal(all[site].Values, one[site].Values);
    }

    [Fact]
    public void Hook_points_relate_as_the_residual_stream_says()
    {
        var model = models.Tiny;
        var seqs = Sequences(model, 6, 3);
        var all = model.Capture(seqs, model.Descriptor.HookPoints.ToList(), batchSize: 2);
        float[] V(string s) => all[s].Values;
        Assert.Equal(V(HookPoints.Embed), V(HookPoints.ResidPre(0)));
        for (int l = 0; l < model.Descriptor.NumLayers; l++)
        {
            AssertClose(V(HookPoints.ResidMid(l)), V(HookPoints.ResidPre(l)).Zip(V(HookPoints.AttnOut(l)), (a, b) => a + b).ToArray(), "resid_mid");
            AssertClose(V(HookPoints.ResidPost(l)), V(HookPoints.ResidMid(l)).Zip(V(HookPoints.MlpOut(l)), (a, b) => a + b).ToArray(), "resid_post");
            if (l + 1 < model.Descriptor.NumLayers) Assert.Equal(V(HookPoints.ResidPost(l)), V(HookPoints.ResidPre(l + 1)));
        }
        // ln_final.hook_normalized is x / sqrt(mean(x^2) + eps) of the last residual (TransformerLens: before the gain).
        var resid = all[HookPoints.ResidPost(model.Descriptor.NumLayers - 1)];
        var normalized = all[HookPoints.FinalNormalized];
        double eps = model.Descriptor.Config.RmsNormEps;
        var expected = new float[resid.Values.Length];
        for (int r = 0; r < resid.Rows; r++)
        {
            var x = resid.Row(r);
            double meanSquare = 0;
            foreach (var v in x) meanSquare += (double)v * v;
            double scale = 1 / Math.Sqrt(meanSquare / x.Length + eps);
            for (int i = 0; i < x.Length; i++) expected[r * x.Length + i] = (float)(x[i] * scale);
        }
        AssertClose(expected, normalized.Values, "ln_final.hook_normalized");
    }

    [Fact]
    public void An_unknown_site_names_itself_and_the_available_ones()
    {
        var model = models.Tiny;
        var e = Assert.Throws<ArgumentException>(() => model.Capture([[1, 2]], ["blocks.9.hook_resid_post", HookPoints.Embed], 1));
        Assert.Contains("'blocks.9.hook_resid_post'", e.Message);
        Assert.Contains("available: hook_embed, blocks.0.hook_resid_pre", e.Message);
        Assert.Contains("ln_final.hook_normalized", e.Message);
    }

    [Fact]
    public void Empty_sequences_and_out_of_vocabulary_ids_are_rejected()
    {
        var model = models.Tiny;
        Assert.Contains("sequence 1 is empty", Assert.Throws<ArgumentException>(() => model.Capture([[1], []], [HookPoints.Embed], 2)).Message);
        Assert.Contains("token id 96 is outside the vocabulary 0..95", Assert.Throws<ArgumentException>(() => model.Capture([[1, 96]], [HookPoints.Embed], 2)).Message);
    }

    [Fact]
    public void Last_position_logits_match_the_last_row_of_a_longer_forward()
    {
        var model = models.Tiny;
        var seq = Sequences(model, 8)[0];
        var logits = model.Logits(seq);
        Assert.Equal(model.Descriptor.Config.VocabSize, logits.Length);
        Assert.All(logits, v => Assert.True(float.IsFinite(v)));
        AssertClose(logits, model.Logits(seq), "repeat");
        Assert.NotEqual(logits, model.Logits(seq[..7]));
    }
}

/// <summary>Long runs must not leak native tensors: everything a batch creates is disposed with it.</summary>
public sealed class NativeMemoryTests
{
    [Fact]
    public void Repeated_captures_and_logits_leave_no_live_tensors_behind()
    {
        using var dir = new TinyModel(seed: 9);
        using var model = CausalLm.Load(dir.Directory);
        var sites = model.Descriptor.HookPoints.ToList();
        int[][] sequences = [[1, 2, 3], [4, 5, 6, 7, 8], [9]];
        model.Capture(sequences, sites, 2);   // warm up
        model.Logits([1, 2, 3]);

        long before = TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        for (int i = 0; i < 5; i++)
        {
            model.Capture(sequences, sites, 2);
            model.Capture(sequences, [Hooks.HookPoints.ResidPost(0)], 1);
            model.Logits([1, 2, 3, 4]);
        }
        Assert.Equal(before, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);

        using var leaked = TorchSharp.torch.zeros(1);   // the counter does see a tensor left alive
        Assert.Equal(before + 1, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount);
    }
}
