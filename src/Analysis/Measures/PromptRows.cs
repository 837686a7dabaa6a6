using Sweep.Analysis.Concepts;
using Sweep.Analysis.Correlation;

namespace Sweep.Analysis.Measures;

/// <summary>
/// Prompt-level rows of a pair analysis (<c>level: prompt</c>): each site's token rows become one row per prompt (a
/// sequence of the corpus) by <see cref="PromptReduction"/> — its last token, or the mean over its tokens with BOS left
/// out — and the two sites' prompt rows are paired by the prompt's corpus-wide sequence index, which is the same in
/// every tokenization of a corpus. So models whose tokenizers differ (different tokens, different lengths) are
/// compared prompt by prompt. Conventions:
/// <list type="bullet">
/// <item>A prompt's vector is averaged in float64 (each float32 value widened exactly) and handed to the measure as
/// float32, as activations are.</item>
/// <item>SAE codes are reduced the same way (a mean keeps every feature active on some token of the prompt); the
/// result stays sparse, with the features whose reduced value is not 0.</item>
/// <item>A prompt row has no one position or token: <see cref="TokenRows.Pos"/> and <see cref="TokenRows.Token"/> are
/// −1, and <see cref="TokenRows.Item"/> depends on the sequence alone (what seeded samples of RSA and kNN hash), so
/// both sides' rows are the same items.</item>
/// <item>A prompt that gives no row (BOS alone) must give none on the other side too; prompts that differ are an error.</item>
/// </list>
/// </summary>
public static class PromptRows
{
    /// <summary>
    /// One row per prompt of a block of whole sequences (ascending seq, pos; <see cref="ActivationBlock"/>): the prompts'
    /// corpus-wide sequence indices, ascending, and their rows, dense or sparse as the block's.
    /// </summary>
    /// <param name="options">The reduction (<see cref="Reduction.Last"/> or <see cref="Reduction.Mean"/>) and the BOS id of the
    /// site's tokenization when it adds one.</param>
    public static (int[] Seq, SiteRows Rows) Reduce(TokenRows tokens, SiteRows rows, ReductionOptions options)
    {
        if (options.Kind is not (Reduction.Last or Reduction.Mean))
            throw new ArgumentException($"a prompt-level row is the last token or the mean of a prompt, not {options.Kind}");
        var block = rows.Dense is { } dense
            ? ActivationBlock.FromDense(tokens.Seq, tokens.Pos, tokens.Token, dense, rows.Width)
            : ActivationBlock.FromSparse(tokens.Seq, tokens.Pos, tokens.Token, rows.SparseCodes);
        var (items, _) = PromptReduction.Items(block, options);
        int width = rows.Width;
        var vector = new double[width];
        var seq = items.Select(i => i.Seq).ToArray();
        if (rows.Dense is not null)
        {
            var values = new float[(long)items.Count * width];
            for (int i = 0; i < items.Count; i++)
            {
                PromptReduction.Vector(block, items[i], vector);
                for (int j = 0; j < width; j++) values[(long)i * width + j] = (float)vector[j];
            }
            return (seq, SiteRows.OfDense(width, values));
        }
        var offsets = new int[items.Count + 1];
        var indices = new List<int>();
        var reduced = new List<float>();
        for (int i = 0; i < items.Count; i++)
        {
            PromptReduction.Vector(block, items[i], vector);
            // Only the features the prompt's rows hold can be non-zero.
            var codes = rows.SparseCodes;
            var features = new SortedSet<int>();
            for (int r = items[i].FirstRow; r < items[i].FirstRow + items[i].RowCount; r++)
                for (int k = codes.Offsets[r]; k < codes.Offsets[r + 1]; k++) features.Add(codes.Indices[k]);
            foreach (int f in features)
                if ((float)vector[f] is var v && v != 0) { indices.Add(f); reduced.Add(v); }
            offsets[i + 1] = indices.Count;
        }
        return (seq, SiteRows.OfSparse(new SparseRows(width, offsets, [.. indices], [.. reduced]) { Signed = rows.SparseCodes.Signed }));
    }

    /// <summary>The token rows of prompt-level rows: the prompts' sequences, position and token −1.</summary>
    public static TokenRows Tokens(int[] seq) => new(seq, Enumerable.Repeat(-1, seq.Length).ToArray(), Enumerable.Repeat(-1, seq.Length).ToArray());

    /// <summary>
    /// The block of two sites' prompt rows over the same corpus shard, each reduced with its own tokenization's options;
    /// the prompts must be the same on both sides (else <see cref="InvalidDataException"/>, naming the first that differs).
    /// </summary>
    public static MeasureBlock Pair(TokenRows tokensA, SiteRows a, ReductionOptions optionsA, TokenRows tokensB, SiteRows b, ReductionOptions optionsB)
    {
        var (seqA, rowsA) = Reduce(tokensA, a, optionsA);
        var (seqB, rowsB) = Reduce(tokensB, b, optionsB);
        if (!seqA.AsSpan().SequenceEqual(seqB))
        {
            int at = 0;
            while (at < seqA.Length && at < seqB.Length && seqA[at] == seqB[at]) at++;
            throw new InvalidDataException($"the two sites' prompts differ ({seqA.Length} and {seqB.Length} prompts, first difference at prompt {at}: "
                + $"sequence {(at < seqA.Length ? seqA[at] : -1)} against {(at < seqB.Length ? seqB[at] : -1)})");
        }
        return new MeasureBlock(Tokens(seqA), rowsA, rowsB);
    }
}
