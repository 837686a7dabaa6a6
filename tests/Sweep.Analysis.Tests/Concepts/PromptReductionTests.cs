using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Tests.Concepts;

/// <summary>How prompts become items: last token, mean without BOS, every token, the marker, and what is refused.</summary>
public sealed class PromptReductionTests
{
    // Three prompts: seq 10 = [BOS, 5, 7, 8, 9], seq 11 = [BOS], seq 12 = [BOS, 7, 6]; width 2, value = (row, 10·row).
    private static readonly int[] Seq = [10, 10, 10, 10, 10, 11, 12, 12, 12];
    private static readonly int[] Pos = [0, 1, 2, 3, 4, 0, 0, 1, 2];
    private static readonly int[] Tok = [1, 5, 7, 8, 9, 1, 1, 7, 6];

    private static ActivationBlock Block() =>
        ActivationBlock.FromDense(Seq, Pos, Tok, [.. Enumerable.Range(0, Seq.Length).SelectMany(r => new[] { (float)r, 10f * r })], 2);

    private static (List<PromptItem> Items, ReductionCounts Counts, double[] Matrix) Reduce(ReductionOptions options)
    {
        var block = Block();
        var (items, counts) = PromptReduction.Items(block, options);
        return ([.. items], counts, PromptReduction.Matrix(block, items));
    }

    [Fact]
    public void Last_takes_each_prompts_final_token_and_a_prompt_of_BOS_alone_gives_nothing()
    {
        var (items, counts, matrix) = Reduce(new ReductionOptions(Reduction.Last, BosId: 1));
        Assert.Equal([(10, 4), (12, 2)], items.Select(i => (i.Seq, i.Pos)));
        Assert.Equal([4.0, 40, 8, 80], matrix);
        Assert.Equal(new ReductionCounts(Prompts: 3, Items: 2, WithoutMarker: 0, Empty: 1), counts);
    }

    [Fact]
    public void Mean_averages_the_prompts_tokens_without_the_leading_BOS()
    {
        var (items, _, matrix) = Reduce(new ReductionOptions(Reduction.Mean, BosId: 1));
        Assert.Equal([2.5, 25, 7.5, 75], matrix);   // rows 1..4 and rows 7..8
        Assert.All(items, i => Assert.Equal(-1, i.Pos));
        // Without a BOS id, position 0 counts like any token.
        Assert.Equal([2.0, 20, 5, 50, 7, 70], Reduce(new ReductionOptions(Reduction.Mean)).Matrix);
    }

    [Fact]
    public void Every_keeps_each_token_but_BOS_as_its_own_item()
    {
        var (items, counts, _) = Reduce(new ReductionOptions(Reduction.Every, BosId: 1));
        Assert.Equal([(10, 1), (10, 2), (10, 3), (10, 4), (12, 1), (12, 2)], items.Select(i => (i.Seq, i.Pos)));
        Assert.Equal(6, counts.Items);
        Assert.Equal((12L << 32) | 2, items[^1].Id);
    }

    [Fact]
    public void Marker_takes_the_last_token_of_its_first_occurrence_and_counts_prompts_without_it()
    {
        var (items, counts, matrix) = Reduce(new ReductionOptions(Reduction.Marker, BosId: 1, Marker: [7, 8]));
        Assert.Equal([(10, 3)], items.Select(i => (i.Seq, i.Pos)));
        Assert.Equal([3.0, 30], matrix);
        Assert.Equal(new ReductionCounts(3, 1, WithoutMarker: 1, Empty: 1), counts);

        var single = Reduce(new ReductionOptions(Reduction.Marker, BosId: 1, Marker: [7]));
        Assert.Equal([(10, 2), (12, 1)], single.Items.Select(i => (i.Seq, i.Pos)));
        // BOS is never part of a marker, even when the marker starts with its id.
        Assert.Equal(2, Reduce(new ReductionOptions(Reduction.Marker, BosId: 1, Marker: [1, 7])).Counts.WithoutMarker);
    }

    [Fact]
    public void The_mean_of_sparse_codes_equals_the_mean_of_their_dense_rows()
    {
        var codes = new SparseRows(3, [0, 1, 3, 3, 4], [2, 0, 2, 1], [1f, 2f, 3f, 4f]);
        var block = ActivationBlock.FromSparse([0, 0, 0, 1], [0, 1, 2, 0], [1, 5, 6, 5], codes);
        var (items, _) = PromptReduction.Items(block, new ReductionOptions(Reduction.Mean, BosId: 1));
        Assert.Equal([1.0, 0, 1.5, 0, 4, 0], PromptReduction.Matrix(block, items));
    }

    [Fact]
    public void A_sequence_that_does_not_lie_whole_in_the_block_is_refused()
    {
        var partial = Assert.Throws<ArgumentException>(() => ActivationBlock.FromDense([4, 4], [3, 4], [5, 6], [0f, 0f], 1));
        Assert.Contains("sequence 4 starts at position 3, expected 0", partial.Message);
        Assert.Throws<ArgumentException>(() => ActivationBlock.FromDense([4, 4], [0, 2], [5, 6], [0f, 0f], 1));
        Assert.Throws<ArgumentException>(() => ActivationBlock.FromDense([5, 4], [0, 0], [5, 6], [0f, 0f], 1));
        Assert.Throws<ArgumentException>(() => ActivationBlock.FromDense([4], [0], [5], [float.NaN], 1));
        Assert.Throws<ArgumentException>(() => new ReductionOptions(Reduction.Marker).Validate());
    }
}
