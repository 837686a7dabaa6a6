namespace Sweep.Analysis.Concepts;

/// <summary>How a prompt (one sequence) becomes the vectors a label statistic sees.</summary>
public enum Reduction
{
    /// <summary>The prompt's last token.</summary>
    Last,
    /// <summary>The mean over the prompt's tokens, BOS excluded.</summary>
    Mean,
    /// <summary>Every token on its own (no reduction): a prompt gives as many items as it has tokens, BOS excluded.</summary>
    Every,
    /// <summary>The last token of the first occurrence of a marker token sequence.</summary>
    Marker,
}

/// <param name="Kind">The reduction.</param>
/// <param name="BosId">
/// The tokenizer's BOS id when the corpus adds BOS (null otherwise): position 0 holding it is left out of
/// <see cref="Reduction.Mean"/> and <see cref="Reduction.Every"/> (its activations are an outlying attention sink
/// that says nothing about the prompt), and never matches a marker. <see cref="Reduction.Last"/> is unaffected
/// unless the prompt is BOS alone, which then has no item.
/// </param>
/// <param name="Marker">For <see cref="Reduction.Marker"/>: the marker's token ids (the pipeline encodes the marker text).</param>
public sealed record ReductionOptions(Reduction Kind, int? BosId = null, IReadOnlyList<int>? Marker = null)
{
    public void Validate()
    {
        if (Kind == Reduction.Marker && Marker is not { Count: > 0 }) throw new ArgumentException("the marker reduction needs a marker of at least one token id");
        if (Kind != Reduction.Marker && Marker is not null) throw new ArgumentException($"a marker is given but the reduction is {Kind}");
    }
}

/// <summary>
/// One item a prompt contributes: the mean of the contiguous rows [<see cref="FirstRow"/>, FirstRow + <see cref="RowCount"/>)
/// of its block (one row for every reduction but <see cref="Reduction.Mean"/>). <see cref="Pos"/> is the position of
/// that row, or −1 for a mean. <see cref="Id"/> identifies the item corpus-wide (sequence in the high 32 bits, position
/// in the low 32 bits), which seeded samples hash.
/// </summary>
public readonly record struct PromptItem(int Seq, int Pos, int FirstRow, int RowCount)
{
    public long Id => ((long)Seq << 32) | (uint)Pos;
}

/// <summary>What a reduction did with a block's prompts: prompts seen, items made, and prompts that gave no item and why.</summary>
public sealed record ReductionCounts(long Prompts, long Items, long WithoutMarker, long Empty)
{
    public static readonly ReductionCounts None = new(0, 0, 0, 0);

    public ReductionCounts Merge(ReductionCounts other) =>
        new(Prompts + other.Prompts, Items + other.Items, WithoutMarker + other.WithoutMarker, Empty + other.Empty);
}

/// <summary>
/// Per-prompt reduction over a block's row index (seq, pos, token), before any value is read. A prompt is one sequence
/// (a labelled corpus puts each document in exactly one sequence). Conventions:
/// <list type="bullet">
/// <item><c>last</c>: the sequence's final row.</item>
/// <item><c>mean</c>: the mean over the sequence's rows, position 0 left out when it is BOS (<see cref="ReductionOptions.BosId"/>).</item>
/// <item><c>every</c>: each row is an item, BOS left out the same way.</item>
/// <item><c>marker</c>: the first occurrence of the marker ids as consecutive tokens (BOS never counts as part of one);
/// the item is its last token, where the model has read the whole marker. A prompt without the marker gives no item and
/// is counted in <see cref="ReductionCounts.WithoutMarker"/>.</item>
/// </list>
/// A prompt that is BOS alone gives no item under any reduction and is counted in <see cref="ReductionCounts.Empty"/>.
/// </summary>
public static class PromptReduction
{
    public static (IReadOnlyList<PromptItem> Items, ReductionCounts Counts) Items(ActivationBlock block, ReductionOptions options)
    {
        options.Validate();
        var items = new List<PromptItem>();
        long prompts = 0, withoutMarker = 0, empty = 0;
        for (int start = 0; start < block.Rows;)
        {
            int end = start;
            while (end < block.Rows && block.Seq[end] == block.Seq[start]) end++;
            prompts++;
            int first = start;   // first row after a leading BOS
            if (options.BosId is { } bos && block.Token[start] == bos) first++;
            int seq = block.Seq[start];
            if (first == end) empty++;
            else switch (options.Kind)
            {
                case Reduction.Last: items.Add(new PromptItem(seq, block.Pos[end - 1], end - 1, 1)); break;
                case Reduction.Mean: items.Add(new PromptItem(seq, -1, first, end - first)); break;
                case Reduction.Every:
                    for (int r = first; r < end; r++) items.Add(new PromptItem(seq, block.Pos[r], r, 1));
                    break;
                case Reduction.Marker:
                    int at = FindMarker(block.Token, first, end, options.Marker!);
                    if (at < 0) withoutMarker++;
                    else items.Add(new PromptItem(seq, block.Pos[at], at, 1));
                    break;
            }
            start = end;
        }
        return (items, new ReductionCounts(prompts, items.Count, withoutMarker, empty));
    }

    /// <summary>The row of the last token of the first occurrence of <paramref name="marker"/> in rows [from, to), or −1.</summary>
    private static int FindMarker(int[] tokens, int from, int to, IReadOnlyList<int> marker)
    {
        for (int r = from; r + marker.Count <= to; r++)
        {
            int k = 0;
            while (k < marker.Count && tokens[r + k] == marker[k]) k++;
            if (k == marker.Count) return r + marker.Count - 1;
        }
        return -1;
    }

    /// <summary>
    /// The item's vector in float64 into <paramref name="into"/> (width long, overwritten): the mean of its rows, each
    /// row's float32 values widened exactly and summed in float64.
    /// </summary>
    public static void Vector(ActivationBlock block, PromptItem item, Span<double> into)
    {
        into.Clear();
        int width = block.Width;
        if (block.Dense is { } dense)
            for (int r = item.FirstRow; r < item.FirstRow + item.RowCount; r++)
            {
                var row = dense.AsSpan(r * width, width);
                for (int j = 0; j < width; j++) into[j] += row[j];
            }
        else
        {
            var codes = block.Sparse!;
            for (int r = item.FirstRow; r < item.FirstRow + item.RowCount; r++)
                for (int k = codes.Offsets[r]; k < codes.Offsets[r + 1]; k++) into[codes.Indices[k]] += codes.Values[k];
        }
        if (item.RowCount > 1)
            for (int j = 0; j < width; j++) into[j] /= item.RowCount;
    }

    /// <summary>Every item of the block as one float64 row-major matrix [items × width] (tests, samples, small inputs).</summary>
    public static double[] Matrix(ActivationBlock block, IReadOnlyList<PromptItem> items)
    {
        var matrix = new double[(long)items.Count * block.Width];
        for (int i = 0; i < items.Count; i++) Vector(block, items[i], matrix.AsSpan(i * block.Width, block.Width));
        return matrix;
    }
}
